package config

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is a configuration problem: Key names the setting (a dotted YAML
// path, a flag, an environment variable or a file path) and Msg says what is
// wrong with it.
type Error struct {
	Key string
	Msg string
}

func (e *Error) Error() string { return "config: " + e.Key + ": " + e.Msg }

// maxConfigBytes bounds the size of a configuration file.
const maxConfigBytes = 1 << 20

// Decode reads YAML into cfg strictly: every key must be a known setting,
// every value must fit its setting's type, and keys must not repeat. Keys
// not present keep the value cfg already has.
func Decode(data []byte, cfg *Config) error {
	if len(data) > maxConfigBytes {
		return &Error{Key: "(file)", Msg: fmt.Sprintf("larger than %d bytes", maxConfigBytes)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &Error{Key: "(file)", Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return &Error{Key: "(file)", Msg: "expected one YAML document"}
	}
	return decodeInto(doc.Content[0], reflect.ValueOf(cfg).Elem(), "")
}

var durationType = reflect.TypeOf(time.Duration(0))

func decodeInto(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.AliasNode {
		return &Error{Key: keyOr(path), Msg: fmt.Sprintf("line %d: YAML aliases are not allowed in configuration", n.Line)}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // "key:" with no value keeps the default
	}
	switch {
	case v.Type() == durationType:
		if n.Kind != yaml.ScalarNode {
			return typeErr(n, path, "a duration such as 30s or 5m")
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil || d < 0 {
			return &Error{Key: path, Msg: fmt.Sprintf("line %d: invalid duration %q (use e.g. 30s, 5m, 1h)", n.Line, n.Value)}
		}
		v.SetInt(int64(d))
		return nil
	case v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return typeErr(n, path, "a mapping of settings")
		}
		fields := yamlFields(v.Type())
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			if seen[k.Value] {
				return &Error{Key: key, Msg: fmt.Sprintf("line %d: set more than once", k.Line)}
			}
			seen[k.Value] = true
			idx, ok := fields[k.Value]
			if !ok {
				return &Error{Key: key, Msg: fmt.Sprintf("line %d: unknown key", k.Line)}
			}
			if err := decodeInto(val, v.Field(idx), key); err != nil {
				return err
			}
		}
		return nil
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return typeErr(n, path, "a list")
		}
		out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := decodeInto(item, out.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(out)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return typeErr(n, path, "a single value")
	}
	switch v.Kind() {
	case reflect.String:
		if n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" {
			return typeErr(n, path, "a string")
		}
		v.SetString(n.Value)
	case reflect.Bool:
		// A YAML boolean, or the string form from an environment variable
		// or flag.
		b, err := strconv.ParseBool(n.Value)
		if err != nil || (n.Tag != "!!bool" && n.Tag != "!!str") {
			return typeErr(n, path, "true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(n.Value, 0, v.Type().Bits())
		if err != nil {
			return typeErr(n, path, "a whole number")
		}
		v.SetInt(i)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(n.Value, v.Type().Bits())
		if err != nil {
			return typeErr(n, path, "a number")
		}
		v.SetFloat(f)
	case reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		u, err := strconv.ParseUint(n.Value, 0, v.Type().Bits())
		if err != nil {
			return typeErr(n, path, "a whole number ≥ 0")
		}
		v.SetUint(u)
	default:
		return &Error{Key: path, Msg: "cannot be set from a file"}
	}
	return nil
}

func typeErr(n *yaml.Node, path, want string) error {
	got := n.Value
	if n.Kind != yaml.ScalarNode {
		got = map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}[n.Kind]
	} else {
		got = strconv.Quote(got)
	}
	return &Error{Key: keyOr(path), Msg: fmt.Sprintf("line %d: want %s, got %s", n.Line, want, got)}
}

func keyOr(path string) string {
	if path == "" {
		return "(file)"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML names of t's settable fields to their indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
	}
	return m
}

func reflectValue(cfg *Config) reflect.Value { return reflect.ValueOf(cfg).Elem() }
