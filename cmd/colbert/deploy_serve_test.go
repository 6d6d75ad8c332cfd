package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/search/router"
)

// TestDeployShardedSearch checks the sharded-search manifests under
// deploy/kubernetes: every flag of each `colbert serve` container is a
// flag of the binary's serve command; the shard StatefulSet has a headless
// Service of its serviceName; the router Deployment (with a Service)
// lists exactly one URL per shard replica, by the pods' stable DNS names
// and port; the Indexed Job writing the shards makes as many as there are
// replicas, where the StatefulSet reads them.
func TestDeployShardedSearch(t *testing.T) {
	root := filepath.Join("..", "..", "deploy", "kubernetes")
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "#") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	known := map[string]bool{}
	for _, f := range serveCommands()[0].Flags {
		for _, n := range f.Names() {
			known[n] = true
		}
	}
	flagRE := regexp.MustCompile(`(?m)^\s*- --([a-z][a-z0-9-]*)=(.*)$`)
	serveArgs := func(name, doc string) map[string]string {
		t.Helper()
		if !strings.Contains(doc, `command: ["colbert", "serve"]`) {
			t.Fatalf("%s: no colbert serve container", name)
		}
		args := map[string]string{}
		for _, m := range flagRE.FindAllStringSubmatch(doc, -1) {
			if !known[m[1]] {
				t.Errorf("%s: colbert serve has no flag --%s", name, m[1])
			}
			args[m[1]] = strings.TrimSpace(m[2])
		}
		return args
	}
	field := func(name, doc, re string) string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(doc)
		if m == nil {
			t.Fatalf("%s: no match for %s", name, re)
		}
		return m[1]
	}

	shards := read("search-shards.yaml")
	if !strings.Contains(shards, "kind: StatefulSet") || !strings.Contains(shards, "kind: Service") || !strings.Contains(shards, "clusterIP: None") {
		t.Fatal("search-shards.yaml: want a StatefulSet and a headless Service")
	}
	sts := field("search-shards.yaml", shards, `(?s)kind: StatefulSet\s*\nmetadata:\s*\n\s*name: (\S+)`)
	svc := field("search-shards.yaml", shards, `serviceName: (\S+)`)
	if hs := field("search-shards.yaml", shards, `(?s)kind: Service\s*\nmetadata:\s*\n\s*name: (\S+)`); hs != svc {
		t.Errorf("search-shards.yaml: headless Service %s, StatefulSet serviceName %s", hs, svc)
	}
	var replicas int
	fmt.Sscan(field("search-shards.yaml", shards, `replicas: (\d+)`), &replicas)
	sa := serveArgs("search-shards.yaml", shards)
	if sa["index"] == "" || sa["checkpoint"] == "" || sa["shards"] != "" || !strings.HasPrefix(sa["addr"], "0.0.0.0:") {
		t.Errorf("search-shards.yaml: a shard needs --index, --checkpoint and --addr=0.0.0.0:PORT, no --shards: %v", sa)
	}
	port := strings.TrimPrefix(sa["addr"], "0.0.0.0:")

	routerDoc := read("search-router.yaml")
	if !strings.Contains(routerDoc, "kind: Deployment") || !strings.Contains(routerDoc, "kind: Service") {
		t.Fatal("search-router.yaml: want a Deployment and a Service")
	}
	ra := serveArgs("search-router.yaml", routerDoc)
	urls, err := router.ParseShards(ra["shards"])
	if err != nil {
		t.Fatalf("search-router.yaml: --shards: %v", err)
	}
	if len(urls) != replicas {
		t.Errorf("search-router.yaml lists %d shards, the StatefulSet has %d replicas", len(urls), replicas)
	}
	for i, u := range urls {
		if want := fmt.Sprintf("http://%s-%d.%s:%s", sts, i, svc, port); u != want {
			t.Errorf("search-router.yaml: shard %d is %s, want %s", i, u, want)
		}
	}
	if _, err := router.ParsePolicy(ra["on-shard-error"]); err != nil {
		t.Errorf("search-router.yaml: %v", err)
	}
	if ra["index"] != "" || ra["checkpoint"] != "" {
		t.Errorf("search-router.yaml: the router takes no --index or --checkpoint")
	}

	job := read("index-shards.yaml")
	if !strings.Contains(job, "colbert index merge") || !strings.Contains(job, "--part") {
		t.Fatal("index-shards.yaml: want `colbert index merge --part`")
	}
	if n := field("index-shards.yaml", job, `NPARTS, value: "(\d+)"`); n != fmt.Sprint(replicas) {
		t.Errorf("index-shards.yaml makes %s shards, the StatefulSet serves %d", n, replicas)
	}
	out := field("index-shards.yaml", job, `--out "([^"$]+)\$\{JOB_COMPLETION_INDEX\}"`)
	if want := out + "$(SHARD)"; sa["index"] != want {
		t.Errorf("search-shards.yaml serves --index=%s, index-shards.yaml writes %s${JOB_COMPLETION_INDEX}", sa["index"], out)
	}
}
