package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/podrun/podrun/api"
)

// loadFunctionFile reads a function from a .json file (the body of PUT /v1/functions/NAME) or a
// .toml file holding the same keys, either at its top level or as a podrun.toml's
// [functions.NAME] table. Unknown keys are errors, as the server's are.
func loadFunctionFile(path, name string) (api.FunctionRequest, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return api.FunctionRequest{}, err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
	case ".toml":
		if raw, err = tomlToJSON(raw, name); err != nil {
			return api.FunctionRequest{}, fmt.Errorf("%s: %w", path, err)
		}
	default:
		return api.FunctionRequest{}, fmt.Errorf("%s: want a .json or .toml file", path)
	}
	var req api.FunctionRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return api.FunctionRequest{}, fmt.Errorf("%s: %w", path, err)
	}
	return req, nil
}

// tomlToJSON turns a TOML function into the JSON the API reads, picking [functions.NAME] when
// the file declares functions.
func tomlToJSON(raw []byte, name string) ([]byte, error) {
	var doc map[string]any
	if err := toml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if fns, ok := doc["functions"].(map[string]any); ok {
		fn, ok := fns[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("no [functions.%s] table", name)
		}
		doc = fn
	}
	return json.Marshal(doc)
}
