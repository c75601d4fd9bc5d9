package sqlite

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeMatchesEncodingJSON checks the fast path decodes exactly as encoding/json does.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		``, `[]`, `{}`, `["sh","-c","echo hi"]`, `{"A":"1","B":""}`, `{"a":"1","a":"2"}`, `["a\"b"]`, `["\u00e9"]`,
		`[ "a" ]`, `["a",]`, `[,"a"]`, `{"a":1}`, `["a"`, `{"a"}`, `{"a":"b",}`, "[\"\xff\"]", `null`, `["é","日本"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		gotS, errS := decodeSlice(b)
		wantS := []string{}
		wantErrS := len(b) > 0 && json.Unmarshal(b, &wantS) != nil
		if wantS == nil {
			wantS = []string{}
		}
		if (errS != nil) != wantErrS || (errS == nil && !reflect.DeepEqual(gotS, wantS)) {
			t.Errorf("decodeSlice(%q) = %q, %v; encoding/json: %q, failed %v", b, gotS, errS, wantS, wantErrS)
		}
		gotM, errM := decodeMap(b)
		wantM := map[string]string{}
		wantErrM := len(b) > 0 && json.Unmarshal(b, &wantM) != nil
		if wantM == nil {
			wantM = map[string]string{}
		}
		if (errM != nil) != wantErrM || (errM == nil && !reflect.DeepEqual(gotM, wantM)) {
			t.Errorf("decodeMap(%q) = %q, %v; encoding/json: %q, failed %v", b, gotM, errM, wantM, wantErrM)
		}
	})
}
