package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/search/engine"
	"github.com/colbert-go/colbert/search/server"
	"github.com/urfave/cli/v2"
)

func serveCommands() []*cli.Command {
	return []*cli.Command{{
		Name:  "serve",
		Usage: "serve PLAID search over HTTP (POST /search, POST /rerank, POST|DELETE /passages, GET /healthz, /metrics, /openapi.json)",
		Description: "The index is memory-mapped once and searched by many requests at once. POST /search takes\n" +
			`{"query": "...", "k": 10} (optional "ncells", "ndocs", "threshold") or a batch {"queries": [...], "k": 10}` + "\n" +
			"and returns ranked ids and scores, with passage text when --collection is given; POST /rerank\n" +
			`{"query": "...", "ids": [...]} (or "texts") scores those passages by exact MaxSim. GET /openapi.json describes it all.` + "\n" +
			"After `colbert index append` or `index delete`, SIGHUP (or --watch) takes up the new index generation without\n" +
			"a restart: requests already running finish on the generation they started with. With --writable, POST /passages\n" +
			`{"passages": [{"id": …, "text": …, "title": …, <metadata>…}]} encodes and appends passages and DELETE /passages` + "\n" +
			`{"ids": [...]} deletes them, each committed to the index on disk and served before it answers.` + "\n" +
			"SIGINT/SIGTERM shut down gracefully.\n" +
			"With --shards URL,… it serves no index but routes each /search to those shards (each a `colbert serve`\n" +
			"of one slice, e.g. `colbert index build --shard i/N`) and merges their top k (search/router).",
		Flags: append(optional(colbertModelFlags(), "checkpoint"),
			&cli.StringFlag{Name: "index", Usage: "index directory (required unless --shards)"},
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen address"},
			&cli.StringFlag{Name: "collection", Aliases: []string{"c"}, Usage: "collection to return passage text from (BEIR directory, corpus.jsonl, collection.tsv, .parquet); read again on a reload when it changed"},
			&cli.IntFlag{Name: "max-k", Value: 1000, Usage: "largest k a request may ask for"},
			&cli.IntFlag{Name: "max-batch", Value: 32, Usage: `most queries a batched POST /search may carry ("queries")`},
			&cli.IntFlag{Name: "max-rerank", Value: 1000, Usage: "most ids or texts a POST /rerank may score"},
			&cli.DurationFlag{Name: "watch", Usage: "check the index manifest this often and take up a new generation (0 = only on SIGHUP)"},
			&cli.BoolFlag{Name: "writable", Usage: "answer POST /passages (encode and append) and DELETE /passages (tombstone) by updating the index on disk; otherwise they are 403"},
			&cli.IntFlag{Name: "max-update", Value: 1000, Usage: "most passages or ids one POST or DELETE /passages may carry"},
			&cli.IntFlag{Name: "max-concurrent", Usage: "searches at once; others queue (0 = number of CPUs)"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "per-request timeout, queueing included"},
			&cli.BoolFlag{Name: "no-verify", Usage: "skip the checksum pass when opening the index"},
			threadsFlag(),
			shardsFlag(), onShardErrorFlag(), shardTimeoutFlag(),
		),
		Action: serveAction,
	}}
}

func serveAction(c *cli.Context) error {
	server.TuneGC() // the latency tail under load is the collector's (see server.GCPercent)
	if routed, err := serveRoute(c); routed || err != nil {
		return err
	}
	// Registered before the index is opened: SIGHUP's default action
	// would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	e, err := openEngine(c)
	if err != nil {
		return err
	}
	live := engine.NewLive(e)
	defer live.Close()
	cfg := server.Config{
		Source:        live,
		MaxK:          c.Int("max-k"),
		MaxBatch:      c.Int("max-batch"),
		MaxRerank:     c.Int("max-rerank"),
		MaxConcurrent: c.Int("max-concurrent"),
		Timeout:       c.Duration("timeout"),
		MaxUpdate:     c.Int("max-update"),
	}
	if c.Bool("writable") {
		cfg.Updates = server.LiveUpdater{Live: live, Options: engine.AppendOptions{Threads: c.Int("threads")}}
		cfg.Logf = func(format string, a ...any) { fmt.Fprintf(c.App.ErrWriter, format+"\n", a...) }
	}
	var texts *passageTexts
	if path := c.String("collection"); path != "" {
		texts = &passageTexts{path: path}
		if _, err := texts.refresh(); err != nil {
			return err
		}
		cfg.Text = texts.get
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	st := e.Stats()
	fmt.Fprintf(c.App.ErrWriter, "serve: %d passages (generation %d), listening on http://%s\n", st.Passages, st.Generation, ln.Addr())
	go reloadLoop(c.Context, live, texts, hup, c.Duration("watch"), c.App.ErrWriter)
	return srv.Serve(c.Context, ln)
}

// reloadLoop takes up a new generation of the index (after `colbert index
// append` or `delete`) on SIGHUP and, when watch > 0, whenever the
// manifest's generation changes, until ctx ends; with a new generation it
// reads the collection (texts, when given) again if the file changed. A
// failed reload keeps the current generation and says why.
func reloadLoop(ctx context.Context, live *engine.Live, texts *passageTexts, hup <-chan os.Signal, watch time.Duration, w io.Writer) {
	var tick <-chan time.Time
	if watch > 0 {
		t := time.NewTicker(watch)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick:
		}
		start := time.Now()
		r, err := live.Reload()
		switch {
		case err != nil:
			fmt.Fprintf(w, "serve: reload failed, still serving generation %d: %v\n", r.From, err)
		case r.Changed:
			fmt.Fprintf(w, "serve: reloaded the index in %s: generation %d → %d, %d passages\n",
				time.Since(start).Round(time.Millisecond), r.From, r.To, r.Passages)
			if texts == nil {
				continue
			}
			if n, err := texts.refresh(); err != nil {
				fmt.Fprintf(w, "serve: %v (the texts read before are kept)\n", err)
			} else if n >= 0 {
				fmt.Fprintf(w, "serve: read %d passage texts again from %s\n", n, texts.path)
			}
		}
	}
}

// passageTexts are the texts of a collection file by passage id, read again
// when the file changes (its size or modification time).
type passageTexts struct {
	path string
	mod  time.Time
	size int64
	m    atomic.Pointer[map[string]string]
}

// refresh reads the file if it changed since the last read and returns the
// number of texts read, or -1 when it had not changed.
func (t *passageTexts) refresh() (int, error) {
	fi, err := os.Stat(t.path)
	if err != nil {
		return 0, fmt.Errorf("serve: collection: %w", err)
	}
	if t.m.Load() != nil && fi.ModTime().Equal(t.mod) && fi.Size() == t.size {
		return -1, nil
	}
	ps, err := dataset.Passages(t.path)
	if err != nil {
		return 0, err
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.ID] = p.Content()
	}
	t.m.Store(&m)
	t.mod, t.size = fi.ModTime(), fi.Size()
	return len(m), nil
}

// get is the text of the passage with the given id.
func (t *passageTexts) get(id string) (string, bool) {
	s, ok := (*t.m.Load())[id]
	return s, ok
}
