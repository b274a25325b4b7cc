package console

import (
	"io/fs"
	"regexp"
	"testing"
)

// TestEveryTextIsTranslated finds every {{t .Lang "key"}} in the templates
// and requires the key in both languages.
func TestEveryTextIsTranslated(t *testing.T) {
	re := regexp.MustCompile(`\{\{t \$?\.Lang "([a-z_]+)"\}\}`)
	files, _ := fs.Glob(templateFiles, "templates/*.html")
	n := 0
	for _, f := range files {
		b, _ := fs.ReadFile(templateFiles, f)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n++
			tr, ok := messages[m[1]]
			if !ok || tr[0] == "" || tr[1] == "" {
				t.Errorf("%s: key %q lacks a German or English text", f, m[1])
			}
		}
	}
	if n < 50 {
		t.Fatalf("found only %d translated texts; the pattern is broken", n)
	}
}
