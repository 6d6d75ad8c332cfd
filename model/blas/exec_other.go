//go:build !unix

package blas

import "errors"

func execSelf(args, env []string) error {
	return errors.New("re-running the process is not supported on this OS")
}
