package zk

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Every domain tag, in every file of the package, is distinct: two
// circuits sharing a tag would hash different things into one domain.
func TestTagsDistinct(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Tag") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						continue
					}
					v := constant.MakeFromLiteral(lit.Value, lit.Kind, 0).ExactString()
					if other, dup := seen[v]; dup {
						t.Errorf("%s and %s share the tag %s", n.Name, other, lit.Value)
					}
					seen[v] = n.Name
				}
			}
		}
	}
	if len(seen) < 15 {
		t.Fatalf("found only %d tags: the test does not see them", len(seen))
	}
}
