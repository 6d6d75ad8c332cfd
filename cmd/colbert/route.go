package main

import (
	"fmt"
	"net"
	"time"

	"github.com/colbert-go/colbert/search/router"
	"github.com/urfave/cli/v2"
)

// Flags of `colbert serve --shards`: the router in front of N shards.
func shardsFlag() cli.Flag {
	return &cli.StringFlag{Name: "shards", Usage: "route instead of serving an index: comma-separated base URLs of `colbert serve` shards (http://host:port,…); /search is fanned out and the global top k merged"}
}

func onShardErrorFlag() cli.Flag {
	return &cli.StringFlag{Name: "on-shard-error", Value: string(router.PolicyFail), Usage: "with --shards, when a shard is down or times out: fail (502 naming it) or partial (the other shards' hits, flagged \"partial\" with the failed shards named)"}
}

func shardTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "shard-timeout", Value: 5 * time.Second, Usage: "with --shards, the limit on each shard's answer"}
}

// optional returns fl with the named flags no longer required (serve
// needs --checkpoint for an index, not for routing).
func optional(fl []cli.Flag, names ...string) []cli.Flag {
	for _, f := range fl {
		if sf, ok := f.(*cli.StringFlag); ok {
			for _, n := range names {
				if sf.Name == n {
					sf.Required = false
				}
			}
		}
	}
	return fl
}

// serveRoute runs the router when --shards is given (handled = true), and
// otherwise checks that an index and checkpoint were given.
func serveRoute(c *cli.Context) (handled bool, err error) {
	if c.String("shards") == "" {
		if c.String("index") == "" || c.String("checkpoint") == "" {
			return false, fmt.Errorf("serve: --index and --checkpoint are required (or --shards URL,… to route to shards)")
		}
		return false, nil
	}
	for _, name := range []string{"index", "checkpoint", "collection", "tokenizer", "writable"} {
		if c.IsSet(name) {
			return true, fmt.Errorf("serve: --%s is a shard's flag; with --shards this process only routes (give it to each shard's `colbert serve`)", name)
		}
	}
	shards, err := router.ParseShards(c.String("shards"))
	if err != nil {
		return true, fmt.Errorf("serve: --shards: %w", err)
	}
	policy, err := router.ParsePolicy(c.String("on-shard-error"))
	if err != nil {
		return true, fmt.Errorf("serve: --on-shard-error: %w", err)
	}
	r, err := router.New(router.Config{Shards: shards, OnShardError: policy, ShardTimeout: c.Duration("shard-timeout"),
		Timeout: c.Duration("timeout"), MaxConcurrent: c.Int("max-concurrent")})
	if err != nil {
		return true, err
	}
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return true, fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "serve: routing to %d shards (on shard error: %s), listening on http://%s\n", len(shards), policy, ln.Addr())
	return true, r.Serve(c.Context, ln)
}
