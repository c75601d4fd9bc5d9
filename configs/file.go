package configs

import (
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Problem is one thing wrong with the configuration, named by its config key
// and, when it came from the file, by the line that set it.
type Problem struct {
	Key   string // the config key, like "limits.default.cpus"
	Text  string // the problem, starting with the key
	Where string // where the value came from ("podrun.toml, line 12", "--listen"); "" for a default
	line  int    // for sorting file problems in file order
}

func (p *Problem) Error() string {
	if p.Where == "" {
		return p.Text
	}
	return p.Where + ": " + p.Text
}

// fileKeys maps each key the file sets to its line.
type fileKeys map[string]int

// decodeFile overlays the TOML file at path on cfg. A syntax error stops the
// parse; past it, every unknown key and every value of the wrong type is
// reported, each as a *Problem, and the keys the file sets come back with
// their lines for the problems Validate finds later.
func decodeFile(cfg *Config, path string) (fileKeys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return nil, fmt.Errorf("config file %s, line %d: %s: %s", path, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return nil, fmt.Errorf("config file %s, line %d: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	d := &fileDecoder{md: &md, path: path, keys: fileKeys{}}
	d.table(nil, top, reflect.ValueOf(cfg).Elem())
	slices.SortStableFunc(d.problems, func(a, b *Problem) int { return cmp.Compare(a.line, b.line) })
	errs := make([]error, len(d.problems))
	for i, p := range d.problems {
		errs[i] = p
	}
	return d.keys, errors.Join(errs...)
}

// fileDecoder decodes one value at a time, so one bad value does not hide the next.
type fileDecoder struct {
	md       *toml.MetaData
	path     string
	keys     fileKeys
	problems []*Problem
}

// table decodes the keys of one TOML table into the struct rv.
func (d *fileDecoder) table(key toml.Key, prims map[string]toml.Primitive, rv reflect.Value) {
	for name, prim := range prims {
		k := append(key[:len(key):len(key)], name)
		d.keys[k.String()] = d.line(prim)
		field, ok := fieldByTag(rv, name)
		if !ok {
			d.problemText(k, prim, "unknown key "+k.String()+" (configs/podrun.toml lists every key)")
			continue
		}
		d.value(k, prim, field)
	}
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// value decodes one key into v: a table into a struct or a map of structs, anything else whole.
func (d *fileDecoder) value(key toml.Key, prim toml.Primitive, v reflect.Value) {
	t := v.Type()
	base := t
	if base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	isText := reflect.PointerTo(base).Implements(textUnmarshaler)
	switch {
	case t.Kind() == reflect.Struct && !isText:
		if sub, ok := d.subtable(key, prim, "a table of settings"); ok {
			d.table(key, sub, v)
		}
		return
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct:
		sub, ok := d.subtable(key, prim, "a table of named tables")
		if !ok {
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		for name, p := range sub {
			k := append(key[:len(key):len(key)], name)
			d.keys[k.String()] = d.line(p)
			inner, ok := d.subtable(k, p, "a table of settings")
			if !ok {
				continue
			}
			elem := reflect.New(t.Elem()).Elem()
			d.table(k, inner, elem)
			v.SetMapIndex(reflect.ValueOf(name), elem)
		}
		return
	}
	if isText && !slices.Contains([]string{"String", "Integer"}, d.md.Type(key...)) {
		// The library would turn true or 1.5 into text for podrun's parser, whose message would quote it.
		d.problemText(key, prim, fmt.Sprintf("%s must be %s, not %s", key, want(t), d.got(key, prim)))
		return
	}
	err := d.md.PrimitiveDecode(prim, v.Addr().Interface())
	if err == nil {
		return
	}
	var pe toml.ParseError
	if errors.As(err, &pe) { // a value podrun's own parsers (sizes, durations) refused
		d.problemText(key, prim, key.String()+": "+pe.Message)
		return
	}
	d.problemText(key, prim, fmt.Sprintf("%s must be %s, not %s", key, want(t), d.got(key, prim)))
}

// subtable decodes a table's keys, or reports that the value is not a table.
func (d *fileDecoder) subtable(key toml.Key, prim toml.Primitive, what string) (map[string]toml.Primitive, bool) {
	var sub map[string]toml.Primitive
	if err := d.md.PrimitiveDecode(prim, &sub); err != nil {
		d.problemText(key, prim, fmt.Sprintf("%s must be %s ([%s]), not %s", key, what, key, d.got(key, prim)))
		return nil, false
	}
	return sub, true
}

func (d *fileDecoder) problemText(key toml.Key, prim toml.Primitive, text string) {
	line := d.line(prim)
	d.problems = append(d.problems, &Problem{Key: key.String(), Text: text, Where: fileLine(d.path, line), line: line})
}

func fileLine(path string, line int) string {
	if line <= 0 {
		return "config file " + path
	}
	return fmt.Sprintf("config file %s, line %d", path, line)
}

// errLine makes the TOML library report where a value was set: it has no other way to say.
var errLine = errors.New("line probe")

type lineProbe struct{}

func (lineProbe) UnmarshalTOML(any) error { return errLine }

// line is the line that set prim's key, or 0 for a table only implied by its subtables.
func (d *fileDecoder) line(prim toml.Primitive) int {
	var pe toml.ParseError
	if errors.As(d.md.PrimitiveDecode(prim, lineProbe{}), &pe) {
		return pe.Position.Line
	}
	return 0
}

// got describes the value the file gave, for a type mismatch.
func (d *fileDecoder) got(key toml.Key, prim toml.Primitive) string {
	var v any
	_ = d.md.PrimitiveDecode(prim, &v)
	switch d.md.Type(key...) {
	case "String":
		return fmt.Sprintf("the string %q", v)
	case "Integer":
		return fmt.Sprintf("the whole number %v", v)
	case "Float":
		return fmt.Sprintf("the number %v", v)
	case "Bool":
		return fmt.Sprintf("%v", v)
	case "Array":
		return "a list"
	case "Hash", "":
		return "a table"
	default:
		return "a date or time"
	}
}

// want describes what a destination of type t takes, in the config file's terms.
func want(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[Duration]():
		return `a duration in quotes, like "30s" or "5m"`
	case t.Name() == "ByteSize":
		return `a size, like "64Mi" or 1048576`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string in quotes"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Float64:
		return "a number, like 1.5"
	case reflect.Slice:
		return `a list of strings, like ["sh", "-c", "echo hi"]`
	case reflect.Map:
		return `a table of strings, like { NAME = "value" }`
	}
	return "a " + t.String()
}

// fieldByTag finds the field of struct v whose toml tag is name.
func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}
