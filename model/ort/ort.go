// Package ort runs ONNX models (cross-encoder teachers; ColBERT encoders,
// one of model/colbert's two backends, see ColBERT)
// through ONNX Runtime's shared library via github.com/yalue/onnxruntime_go.
//
// ONNX Runtime keeps one environment per process. A Runtime owns that
// environment: it is initialised once, on the first session, and released by
// Close after the last session is destroyed. Create one Runtime per process
// and pass it to whatever needs sessions.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"
)

// LibEnv is the environment variable naming the ONNX Runtime shared library.
const LibEnv = "ONNXRUNTIME_LIB"

// setupRel is where `make setup` puts the library, relative to the repository.
var setupRel = filepath.Join(".deps", "onnxruntime", "libonnxruntime.so.1")

// FindLibrary resolves the ONNX Runtime shared library: the explicit path if
// given, else $ONNXRUNTIME_LIB, else .deps/onnxruntime/libonnxruntime.so.1 in
// the repository containing the working directory or beside (or one level
// above) the running binary. The error says how to get the library.
func FindLibrary(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("ort: ONNX Runtime library %s (from --onnxruntime-lib): %w", explicit, err)
		}
		return explicit, nil
	}
	if p := os.Getenv(LibEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("ort: ONNX Runtime library %s (from $%s): %w", p, LibEnv, err)
		}
		return p, nil
	}
	var tried []string
	for _, dir := range candidateDirs() {
		p := filepath.Join(dir, setupRel)
		tried = append(tried, p)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("ort: ONNX Runtime shared library not found (tried %v); run `make setup` in the colbert-go repository, "+
		"or pass --onnxruntime-lib / set $%s to a libonnxruntime.so.1 (1.24.x)", tried, LibEnv)
}

// candidateDirs lists the repository root above the working directory and
// the binary's directory and its parent.
func candidateDirs() []string {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dirs = append(dirs, d)
				break
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		d := filepath.Dir(exe)
		dirs = append(dirs, d, filepath.Dir(d))
	}
	return dirs
}

// Runtime owns ONNX Runtime's process-wide environment.
type Runtime struct {
	lib     string
	once    sync.Once
	initErr error

	mu       sync.Mutex
	sessions int
	loaded   bool // this Runtime initialised the environment
	closed   bool
}

// NewRuntime resolves the library (see FindLibrary) without loading it yet.
func NewRuntime(libPath string) (*Runtime, error) {
	p, err := FindLibrary(libPath)
	if err != nil {
		return nil, err
	}
	return &Runtime{lib: p}, nil
}

// Library is the resolved path of the shared library.
func (r *Runtime) Library() string { return r.lib }

func (r *Runtime) init() error {
	r.once.Do(func() {
		if ortgo.IsInitialized() {
			r.initErr = errors.New("ort: ONNX Runtime is already initialised in this process by another Runtime; share one Runtime")
			return
		}
		ortgo.SetSharedLibraryPath(r.lib)
		if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelError()); err != nil {
			r.initErr = fmt.Errorf("ort: load %s: %w", r.lib, err)
			return
		}
		r.loaded = true
	})
	return r.initErr
}

func (r *Runtime) acquire() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("ort: runtime is closed")
	}
	if err := r.init(); err != nil {
		return err
	}
	r.sessions++
	return nil
}

func (r *Runtime) release() {
	r.mu.Lock()
	r.sessions--
	r.mu.Unlock()
}

// Close releases the environment. Every session must be destroyed first.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	if r.sessions > 0 {
		return fmt.Errorf("ort: Close with %d sessions still open", r.sessions)
	}
	r.closed = true
	if r.loaded {
		r.loaded = false
		if err := ortgo.DestroyEnvironment(); err != nil {
			return fmt.Errorf("ort: destroy environment: %w", err)
		}
	}
	return nil
}
