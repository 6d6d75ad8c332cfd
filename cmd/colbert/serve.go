package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
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
		Usage: "serve PLAID search over HTTP (POST /search, POST /rerank, GET /healthz, /metrics, /openapi.json)",
		Description: "The index is memory-mapped once and searched by many requests at once. POST /search takes\n" +
			`{"query": "...", "k": 10} (optional "ncells", "ndocs", "threshold") or a batch {"queries": [...], "k": 10}` + "\n" +
			"and returns ranked ids and scores, with passage text when --collection is given; POST /rerank\n" +
			`{"query": "...", "ids": [...]} (or "texts") scores those passages by exact MaxSim. GET /openapi.json describes it all.` + "\n" +
			"After `colbert index append` or `index delete`, SIGHUP (or --watch) takes up the new index generation without\n" +
			"a restart: requests already running finish on the generation they started with. SIGINT/SIGTERM shut down gracefully.\n" +
			"With --shards URL,… it serves no index but routes each /search to those shards (each a `colbert serve`\n" +
			"of one slice, e.g. `colbert index build --shard i/N`) and merges their top k (search/router).",
		Flags: append(optional(colbertModelFlags(), "checkpoint"),
			&cli.StringFlag{Name: "index", Usage: "index directory (required unless --shards)"},
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen address"},
			&cli.StringFlag{Name: "collection", Aliases: []string{"c"}, Usage: "collection to return passage text from (BEIR directory, corpus.jsonl, collection.tsv, .parquet)"},
			&cli.IntFlag{Name: "max-k", Value: 1000, Usage: "largest k a request may ask for"},
			&cli.IntFlag{Name: "max-batch", Value: 32, Usage: `most queries a batched POST /search may carry ("queries")`},
			&cli.IntFlag{Name: "max-rerank", Value: 1000, Usage: "most ids or texts a POST /rerank may score"},
			&cli.DurationFlag{Name: "watch", Usage: "check the index manifest this often and take up a new generation (0 = only on SIGHUP)"},
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
	}
	if path := c.String("collection"); path != "" {
		ps, err := dataset.Passages(path)
		if err != nil {
			return err
		}
		text := make(map[string]string, len(ps))
		for _, p := range ps {
			text[p.ID] = p.Content()
		}
		cfg.Text = func(id string) (string, bool) {
			t, ok := text[id]
			return t, ok
		}
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
	go reloadLoop(c.Context, live, hup, c.Duration("watch"), c.App.ErrWriter)
	return srv.Serve(c.Context, ln)
}

// reloadLoop takes up a new generation of the index (after `colbert index
// append` or `delete`) on SIGHUP and, when watch > 0, whenever the
// manifest's generation changes, until ctx ends. A failed reload keeps the
// current generation and says why.
func reloadLoop(ctx context.Context, live *engine.Live, hup <-chan os.Signal, watch time.Duration, w io.Writer) {
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
		}
	}
}
