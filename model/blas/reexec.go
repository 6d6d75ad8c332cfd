package blas

import (
	"fmt"
	"io"
	"os"
)

const (
	// EnvCoreType is OpenBLAS's own variable; when set (even empty) it is
	// never overridden.
	EnvCoreType = "OPENBLAS_CORETYPE"
	// EnvGuard marks the re-run process so that it never re-runs again.
	EnvGuard = "COLBERT_BLAS_REEXEC"
)

// MaybeReexec re-runs this process (same arguments, same environment plus
// OPENBLAS_CORETYPE and COLBERT_BLAS_REEXEC=1) when [Force] says OpenBLAS
// picked a core below what the CPU can run. Call it first thing in main,
// before any work: on success it does not return. When nothing needs to be
// forced it returns nil; when the re-run cannot start it returns the error
// and the process goes on with OpenBLAS's own core. What it does is
// written to verbose (nil: nothing), never to stdout.
func MaybeReexec(verbose io.Writer) error {
	if !OpenBLAS {
		return nil
	}
	return reexec(Detect(), Core(), os.LookupEnv, os.Environ(), os.Args, execSelf, verbose)
}

// reexec is MaybeReexec with its inputs and the exec call made explicit.
func reexec(f Features, core string, lookup func(string) (string, bool), env, args []string,
	exec func(args, env []string) error, verbose io.Writer) error {
	if _, guarded := lookup(EnvGuard); guarded {
		return nil
	}
	_, userSet := lookup(EnvCoreType)
	force := Force(f, core, userSet)
	if force == "" {
		return nil
	}
	if verbose == nil {
		verbose = io.Discard
	}
	fmt.Fprintf(verbose, "blas: OpenBLAS picked %s on a CPU with %s; re-running with %s=%s\n", core, f, EnvCoreType, force)
	env = append(env[:len(env):len(env)], EnvCoreType+"="+force, EnvGuard+"=1")
	err := exec(args, env)
	// Only reached when exec failed.
	fmt.Fprintf(verbose, "blas: re-run failed (%v); going on with %s\n", err, core)
	return fmt.Errorf("blas: re-run with %s=%s: %w", EnvCoreType, force, err)
}
