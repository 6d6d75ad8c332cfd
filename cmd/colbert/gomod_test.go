package main

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestGoModMarksDirectDependencies: go.mod marks as `// indirect` exactly
// the modules no package of this module imports (tests and every build tag
// included), as `go mod tidy` leaves it; a module imported without being
// required is an error too.
func TestGoModMarksDirectDependencies(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(root) == root {
			t.Fatal("go.mod not found above the package directory")
		}
		root = filepath.Dir(root)
	}
	self, requires := readGoMod(t, filepath.Join(root, "go.mod"))

	// The module each non-standard import belongs to: the longest required
	// module path that is the import path or a prefix of it.
	imported := map[string][]string{} // module → files importing it
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(p, "/")
			if !strings.Contains(first, ".") || p == self || strings.HasPrefix(p, self+"/") {
				continue // standard library or this module
			}
			mod := ""
			for m := range requires {
				if (p == m || strings.HasPrefix(p, m+"/")) && len(m) > len(mod) {
					mod = m
				}
			}
			if mod == "" {
				t.Errorf("%s imports %s, which no module required in go.mod provides", rel, p)
				continue
			}
			imported[mod] = append(imported[mod], rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mods := make([]string, 0, len(requires))
	for m := range requires {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	for _, m := range mods {
		files, direct := imported[m]
		switch {
		case direct && requires[m]:
			t.Errorf("go.mod marks %s // indirect, but %s imports it (run go mod tidy)", m, files[0])
		case !direct && !requires[m]:
			t.Errorf("go.mod requires %s directly, but no package imports it (run go mod tidy)", m)
		}
	}
}

// readGoMod returns the module path and, for every required module, whether
// go.mod marks it `// indirect`.
func readGoMod(t *testing.T, path string) (string, map[string]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var self string
	req := map[string]bool{}
	inBlock := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		code, comment, _ := strings.Cut(line, "//")
		fields := strings.Fields(code)
		switch {
		case len(fields) == 2 && fields[0] == "module":
			self = strings.Trim(fields[1], `"`)
		case len(fields) == 2 && fields[0] == "require" && fields[1] == "(":
			inBlock = true
		case inBlock && len(fields) == 1 && fields[0] == ")":
			inBlock = false
		case inBlock && len(fields) == 2:
			req[strings.Trim(fields[0], `"`)] = strings.TrimSpace(comment) == "indirect"
		case len(fields) == 3 && fields[0] == "require":
			req[strings.Trim(fields[1], `"`)] = strings.TrimSpace(comment) == "indirect"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if self == "" || len(req) == 0 {
		t.Fatalf("%s: no module line or no requirements", path)
	}
	return self, req
}
