package codecheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// root is the module root, two directories up from this package.
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s", r)
	}
	return r
}

// packages maps each package directory to its parsed non-test files.
func packages(t *testing.T) map[string][]*ast.File {
	t.Helper()
	r := root(t)
	fset := token.NewFileSet()
	out := map[string][]*ast.File{}
	err := filepath.WalkDir(r, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != r && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "dist") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r, filepath.Dir(path))
		out[rel] = append(out[rel], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for dir, files := range packages(t) {
		documented := false
		for _, f := range files {
			if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name+" ") ||
				f.Doc != nil && f.Name.Name == "main" && strings.HasPrefix(f.Doc.Text(), "Command ") {
				documented = true
			}
		}
		if !documented {
			t.Errorf("package in %s has no doc comment (\"Package %s ...\" or \"Command ...\")", dir, files[0].Name.Name)
		}
	}
}

// sqlMethods are the database/sql calls whose first string argument (after
// the context) is SQL text.
var sqlMethods = map[string]bool{
	"Exec": true, "ExecContext": true, "Query": true, "QueryContext": true,
	"QueryRow": true, "QueryRowContext": true, "Prepare": true, "PrepareContext": true,
}

// TestSQLIsNeverBuiltFromStrings finds every call of a database/sql query
// method and requires its SQL to be a constant: a string literal, a
// constant, or a concatenation of those. Values must travel as $N
// parameters. The migration runner, which executes our own embedded files,
// is the one reviewed exception.
func TestSQLIsNeverBuiltFromStrings(t *testing.T) {
	allowed := map[string]bool{"store:applyMigration": true}
	for dir, files := range packages(t) {
		for _, f := range files {
			consts := map[string]bool{}
			for _, d := range f.Decls {
				if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.CONST {
					for _, s := range gd.Specs {
						for _, n := range s.(*ast.ValueSpec).Names {
							consts[n.Name] = true
						}
					}
				}
			}
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok || !sqlMethods[sel.Sel.Name] || len(call.Args) == 0 {
						return true
					}
					arg := call.Args[0]
					if strings.HasSuffix(sel.Sel.Name, "Context") {
						if len(call.Args) < 2 {
							return true
						}
						arg = call.Args[1]
					}
					if !constantString(arg, consts) && !allowed[filepath.ToSlash(dir)+":"+fn.Name.Name] {
						t.Errorf("%s: %s.%s in %s: SQL is not a constant string; pass values as $N parameters",
							dir, exprName(sel.X), sel.Sel.Name, fn.Name.Name)
					}
					return true
				})
			}
		}
	}
}

func exprName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprName(x.X) + "." + x.Sel.Name
	case *ast.CallExpr:
		return exprName(x.Fun) + "()"
	}
	return "?"
}

func constantString(e ast.Expr, consts map[string]bool) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return x.Kind == token.STRING
	case *ast.Ident:
		return consts[x.Name]
	case *ast.ParenExpr:
		return constantString(x.X, consts)
	case *ast.BinaryExpr:
		return x.Op == token.ADD && constantString(x.X, consts) && constantString(x.Y, consts)
	}
	return false
}
