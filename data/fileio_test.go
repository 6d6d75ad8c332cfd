package data

import (
	"bufio"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWriteFileAtomicLeavesNoPartialOutput(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFileAtomic(p, func(w *bufio.Writer) error {
		w.WriteString(strings.Repeat("x", 1<<17)) // more than the buffer, so bytes reach the temp file
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("failed write changed the file: %q", truncate(string(b), 20))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temp file left behind: %v", ents)
	}
	if err := WriteFileAtomic(p, func(w *bufio.Writer) error { _, err := w.WriteString("new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("got %q", b)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temp file left behind: %v", ents)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "no", "such", "dir"), func(*bufio.Writer) error { return nil }); err == nil {
		t.Fatal("want error for a missing directory")
	}
}

func TestLineReaderQuirks(t *testing.T) {
	long := strings.Repeat("a", 200000) // longer than the reader's buffer
	in := "\ufeffone\r\ntwo\n\n" + long + "\r\nlast"
	lr := newLineReader(strings.NewReader(in), "x")
	var got []string
	for {
		b, ok := lr.next()
		if !ok {
			break
		}
		got = append(got, string(b))
	}
	want := []string{"one", "two", "", long, "last"}
	if lr.err != nil || len(got) != len(want) {
		t.Fatalf("got %d lines, err %v", len(got), lr.err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i+1, truncate(got[i], 20), truncate(want[i], 20))
		}
	}
	if lr.line != 5 {
		t.Errorf("line count %d", lr.line)
	}
	err := lr.errorf("bad %s", "thing")
	if err.Error() != "data: read x line 5: bad thing" {
		t.Errorf("error text %q", err)
	}
}

func TestCompareIDsIsATotalOrder(t *testing.T) {
	if CompareIDs("2", "10") >= 0 || CompareIDs("10", "a") >= 0 || CompareIDs("b", "a") <= 0 || CompareIDs("007", "7") == 0 {
		t.Fatal("unexpected order")
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"0", "1", "2", "9", "a", "-", " ", "Z"}
	gen := func() string {
		n := rng.Intn(4)
		var sb strings.Builder
		for i := 0; i < n; i++ {
			sb.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		return sb.String()
	}
	sign := func(c int) int {
		switch {
		case c < 0:
			return -1
		case c > 0:
			return 1
		}
		return 0
	}
	for i := 0; i < 20000; i++ {
		a, b, c := gen(), gen(), gen()
		if sign(CompareIDs(a, b)) != -sign(CompareIDs(b, a)) {
			t.Fatalf("not antisymmetric: %q %q", a, b)
		}
		if (CompareIDs(a, b) == 0) != (a == b) {
			t.Fatalf("distinct ids compare equal: %q %q", a, b)
		}
		if CompareIDs(a, b) < 0 && CompareIDs(b, c) < 0 && CompareIDs(a, c) >= 0 {
			t.Fatalf("not transitive: %q < %q < %q", a, b, c)
		}
	}
}
