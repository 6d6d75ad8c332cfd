package blas

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestReexecDecides(t *testing.T) {
	base := []string{"HOME=/root", "PATH=/usr/bin"}
	args := []string{"colbert", "index", "--x"}
	for _, c := range []struct {
		name    string
		f       Features
		core    string
		env     map[string]string
		wantEnv []string // nil: no exec
	}{
		{"forces SkylakeX", bf16, "Prescott", nil, append(slices.Clone(base), "OPENBLAS_CORETYPE=SkylakeX", "COLBERT_BLAS_REEXEC=1")},
		{"user's variable wins", bf16, "Prescott", map[string]string{EnvCoreType: "Haswell"}, nil},
		{"empty user variable keeps OpenBLAS's choice", bf16, "Prescott", map[string]string{EnvCoreType: ""}, nil},
		{"already re-run", bf16, "Prescott", map[string]string{EnvGuard: "1"}, nil},
		{"good core", bf16, "Cooperlake", nil, nil},
		{"gonum", bf16, "gonum", nil, nil},
	} {
		var gotArgs, gotEnv []string
		execErr := errors.New("exec refused")
		var log bytes.Buffer
		err := reexec(c.f, c.core, lookupIn(c.env), base, args, func(a, e []string) error {
			gotArgs, gotEnv = a, e
			return execErr
		}, &log)
		if c.wantEnv == nil {
			if gotEnv != nil || err != nil || log.Len() != 0 {
				t.Errorf("%s: exec %v, err %v, log %q", c.name, gotEnv, err, log.String())
			}
			continue
		}
		if !slices.Equal(gotEnv, c.wantEnv) || !slices.Equal(gotArgs, args) {
			t.Errorf("%s: exec %v %v, want %v %v", c.name, gotArgs, gotEnv, args, c.wantEnv)
		}
		if !errors.Is(err, execErr) {
			t.Errorf("%s: err %v", c.name, err)
		}
		want := "blas: OpenBLAS picked Prescott on a CPU with " + bf16.String() + "; re-running with OPENBLAS_CORETYPE=SkylakeX\n"
		if !strings.HasPrefix(log.String(), want) || !strings.Contains(log.String(), "going on with Prescott") {
			t.Errorf("%s: log %q", c.name, log.String())
		}
	}
	if len(base) != 2 {
		t.Fatal("caller's environment modified")
	}
	// A nil verbose writer is silent and allowed.
	if err := reexec(avx, "Prescott", lookupIn(nil), base, args, func(a, e []string) error { return errors.New("no") }, nil); err == nil {
		t.Fatal("exec failure not reported")
	}
}

const helperEnv = "COLBERT_BLAS_TEST_HELPER"

// TestHelperProcess is the subprocess of TestReexecRuns: it pretends
// OpenBLAS picked Prescott on an AVX-only CPU, which forces Sandybridge,
// re-runs itself for real, and the re-run reports its core.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("subprocess of TestReexecRuns")
	}
	if os.Getenv(EnvGuard) != "" {
		fmt.Printf("re-run: env=%s core=%s\n", os.Getenv(EnvCoreType), Core())
		os.Exit(0)
	}
	err := reexec(avx, "Prescott", os.LookupEnv, os.Environ(), os.Args, execSelf, os.Stderr)
	fmt.Println("exec returned:", err)
	os.Exit(3)
}

func TestReexecRuns(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != EnvCoreType && k != EnvGuard {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "re-running with OPENBLAS_CORETYPE=Sandybridge") {
		t.Errorf("no log line: %s", s)
	}
	want := "re-run: env=Sandybridge core=gonum"
	if OpenBLAS {
		// OpenBLAS read the variable when the re-run loaded it.
		want = "re-run: env=Sandybridge core=Sandybridge"
	}
	if !strings.Contains(s, want) {
		t.Errorf("want %q in:\n%s", want, s)
	}
}
