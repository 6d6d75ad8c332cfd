package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestDeployExamples checks the scheduler examples under deploy/: each runs
// one existing `colbert` subcommand with only flags it has, the shell
// scripts parse (bash -n), and an Indexed Job's NPARTS equals completions.
// No cluster runs them, so this is what keeps them from rotting.
func TestDeployExamples(t *testing.T) {
	root := filepath.Join("..", "..", "deploy")
	files, _ := filepath.Glob(filepath.Join(root, "*", "*"))
	if len(files) < 10 {
		t.Fatalf("deploy/: %d files found, want the Kubernetes and Slurm examples", len(files))
	}
	groups := map[string][]*cli.Command{"index": indexCommands()[0].Subcommands, "distill": distillCommands()[0].Subcommands}
	subRE := regexp.MustCompile(`\b(index|distill)"?,?\s*"?(plan|encode|merge|score)\b`)
	flagRE := regexp.MustCompile(`(?:^|[\s"'\[])--([a-z][a-z0-9-]*)`)
	checked := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if strings.HasSuffix(f, ".sh") || strings.HasSuffix(f, ".sbatch") {
			if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
				t.Errorf("bash -n %s: %v\n%s", f, err, out)
			}
		}
		if strings.HasSuffix(f, ".yaml") && strings.Contains(text, "completionMode: Indexed") {
			c := regexp.MustCompile(`completions: (\d+)`).FindStringSubmatch(text)
			n := regexp.MustCompile(`NPARTS, value: "(\d+)"`).FindStringSubmatch(text)
			if c == nil || n == nil || c[1] != n[1] || !strings.Contains(text, "JOB_COMPLETION_INDEX") {
				t.Errorf("%s: Indexed Job must pass --part $JOB_COMPLETION_INDEX/$NPARTS with NPARTS = completions (%v, %v)", f, c, n)
			}
		}
		if !strings.HasSuffix(f, ".yaml") && !strings.HasSuffix(f, ".sbatch") {
			continue
		}
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			if s := strings.TrimSpace(l); !strings.HasPrefix(s, "#") && !strings.Contains(s, "sbatch") {
				lines = append(lines, l)
			}
		}
		body := strings.Join(lines, "\n")
		subs := subRE.FindAllStringSubmatch(body, -1)
		if len(subs) == 0 {
			continue // e.g. the PVC
		}
		for _, s := range subs[1:] {
			if s[0] != subs[0][0] {
				t.Errorf("%s runs more than one colbert command: %q, %q", f, subs[0][0], s[0])
			}
		}
		group, name := subs[0][1], subs[0][2]
		i := slices.IndexFunc(groups[group], func(c *cli.Command) bool { return c.Name == name })
		if i < 0 {
			t.Errorf("%s: colbert %s %s does not exist", f, group, name)
			continue
		}
		cmd := groups[group][i]
		checked[group+" "+name] = true
		known := map[string]bool{}
		for _, fl := range cmd.Flags {
			for _, n := range fl.Names() {
				known[n] = true
			}
		}
		for _, m := range flagRE.FindAllStringSubmatch(body, -1) {
			if !known[m[1]] {
				t.Errorf("%s: colbert %s %s has no flag --%s", f, group, name, m[1])
			}
		}
		if name == "encode" || name == "score" {
			if !strings.Contains(body, "--part") {
				t.Errorf("%s: colbert %s %s without --part", f, group, name)
			}
		}
	}
	for _, want := range []string{"index plan", "index encode", "index merge", "distill score", "distill merge"} {
		if !checked[want] {
			t.Errorf("no deploy example runs colbert %s", want)
		}
	}
}
