package secret

import (
	"encoding/json"
	"fmt"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestNeverShowsItself(t *testing.T) {
	s := String("hunter2")
	j, _ := json.Marshal(struct{ S String }{s})
	y, _ := yaml.Marshal(struct{ S String }{s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %q %#v", s, s, s, s), string(j), string(y)} {
		if contains(out, "hunter2") {
			t.Fatalf("secret shown in %q", out)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Fatal("Reveal lost the value")
	}
	if String("").String() != "" {
		t.Fatal("empty secret should print empty")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
