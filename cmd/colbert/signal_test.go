//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// mainArgsEnv, when set in the environment of this test binary, makes it run
// the real main() with the JSON-encoded command line it holds instead of the
// tests: TestSecondSignalKills signals that process.
const mainArgsEnv = "COLBERT_TEST_MAIN_ARGS"

func TestMain(m *testing.M) {
	if raw := os.Getenv(mainArgsEnv); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			panic(err)
		}
		os.Args = append([]string{"colbert"}, args...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSecondSignalKills runs train, evaluate and demo as the colbert binary
// does (main, in a child process), each blocked reading its first input
// from a named pipe that never delivers, and sends Ctrl-C twice: the first
// cancels the context (the command is still reading, so it does not exit
// yet), the second must kill the process at once, as main promises. A
// command that registers its own signal.NotifyContext swallows the second
// signal.
func TestSecondSignalKills(t *testing.T) {
	sig := os.Interrupt
	if signal.Ignored(os.Interrupt) {
		// A child inherits an ignored SIGINT (nohup, background jobs of a
		// shell without job control), so Ctrl-C could not kill it in any
		// case; SIGTERM goes through the same handling in main.
		sig = syscall.SIGTERM
	}
	fifo := func(t *testing.T, path string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cases := []struct {
		name string
		// setup makes the pipe the command reads first and its command line.
		setup func(t *testing.T, dir string) (pipe string, args []string)
	}{
		{"train", func(t *testing.T, dir string) (string, []string) {
			p := fifo(t, filepath.Join(dir, "tokenizer.json"))
			return p, []string{"train", "--out-dir", filepath.Join(dir, "out"), "--tokenizer", p, "--threads", "1"}
		}},
		{"evaluate", func(t *testing.T, dir string) (string, []string) {
			ds := filepath.Join(dir, "beir")
			p := fifo(t, filepath.Join(ds, "queries.jsonl"))
			return p, []string{"evaluate", "--checkpoint", filepath.Join(dir, "ck"), "--dataset", ds, "--out", filepath.Join(dir, "out"), "--threads", "1", "-q"}
		}},
		{"demo", func(t *testing.T, dir string) (string, []string) {
			out := filepath.Join(dir, "out")
			p := fifo(t, filepath.Join(out, ".stages", "benchmark.done.json"))
			return p, []string{"demo", "--out", out, "--threads", "1", "-q"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			pipe, args := c.setup(t, dir)
			raw, err := json.Marshal(args)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), mainArgsEnv+"="+string(raw))
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			waited := make(chan struct{})
			go func() {
				exited <- cmd.Wait()
				close(waited)
			}()
			defer func() {
				cmd.Process.Kill() // an error once it has exited
				<-waited
			}()

			// Opening the pipe's write end without blocking succeeds only
			// once the command has it open for reading: by then it is past
			// its setup, blocked in a read that never returns (the write end
			// stays open and silent), and any handler it registers is in.
			var w *os.File
			for deadline := time.Now().Add(60 * time.Second); w == nil; time.Sleep(10 * time.Millisecond) {
				fd, err := syscall.Open(pipe, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
				if err == nil {
					w = os.NewFile(uintptr(fd), pipe)
					break
				}
				if !errors.Is(err, syscall.ENXIO) {
					t.Fatal(err)
				}
				select {
				case err := <-exited:
					t.Fatalf("colbert %s exited before reading %s: %v\n%s", c.name, pipe, err, out.Bytes())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("colbert %s did not open %s in 60 s\n%s", c.name, pipe, out.Bytes())
				}
			}
			defer w.Close()

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				t.Fatalf("colbert %s exited on the first %v (%v): it should only cancel the context\n%s", c.name, sig, err, out.Bytes())
			case <-time.After(300 * time.Millisecond):
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatalf("colbert %s after the second %v: %v, want death by the signal\n%s", c.name, sig, err, out.Bytes())
				}
				ws, ok := ee.Sys().(syscall.WaitStatus)
				if !ok || !ws.Signaled() || ws.Signal() != sig {
					t.Fatalf("colbert %s after the second %v: %v, want death by the signal\n%s", c.name, sig, err, out.Bytes())
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("colbert %s still running 3 s after the second %v: the signal was swallowed\n%s", c.name, sig, out.Bytes())
			}
		})
	}
}
