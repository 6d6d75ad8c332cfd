package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/search/engine"
	"github.com/urfave/cli/v2"
)

// metadataFlags choose what `index build` and `index append` store in the
// index's metadata database (codec/metadb) for filtered search.
func metadataFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "metadata", Usage: "passage metadata side file (JSONL: {\"id\": …, field: value, …} per line), merged over the collection's own extra fields"},
		&cli.BoolFlag{Name: "no-metadata", Usage: "store no metadata, even when the collection has fields beyond id, title and text"},
	}
}

// sideMetadata merges --metadata into ps (a side file's fields win).
func sideMetadata(c *cli.Context, ps []data.Passage) error {
	path := c.String("metadata")
	if path == "" {
		return nil
	}
	if c.Bool("no-metadata") {
		return fmt.Errorf("--metadata and --no-metadata contradict each other")
	}
	side, err := dataset.Metadata(path)
	if err != nil {
		return err
	}
	return dataset.AddMetadata(ps, side, path)
}

// filterFlags restrict `colbert search` to some passages.
func filterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "filter", Usage: "SQL condition over the index's metadata columns: only passages satisfying it are searched (e.g. \"year >= 2020 AND source = 'pubmed'\")"},
		&cli.StringFlag{Name: "filter-ids", Usage: "file with one passage id per line: only these passages are searched (with --filter: both must hold)"},
	}
}

// searchFilter is the engine.Filter of --filter and --filter-ids.
func searchFilter(c *cli.Context) (engine.Filter, error) {
	f := engine.Filter{Where: strings.TrimSpace(c.String("filter"))}
	if c.IsSet("filter") && f.Where == "" {
		return f, fmt.Errorf("--filter: empty condition")
	}
	if p := c.String("filter-ids"); p != "" {
		raw, err := os.ReadFile(p)
		if err != nil {
			return f, fmt.Errorf("--filter-ids: %w", err)
		}
		f.IDs = []string{}
		for _, l := range strings.Split(string(raw), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				f.IDs = append(f.IDs, l)
			}
		}
	}
	return f, nil
}

// indexMetadataCommand attaches a side file's metadata to an existing
// index (replacing what it had), without encoding anything.
func indexMetadataCommand() *cli.Command {
	return &cli.Command{
		Name:  "metadata",
		Usage: "give an index's passages the metadata of a side file (replacing any they had), for search --filter",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "index", Required: true, Usage: "index directory to update"},
			&cli.StringFlag{Name: "metadata", Required: true, Usage: "side file (JSONL: {\"id\": …, field: value, …} per line); passages it does not list get no fields"},
		},
		Action: func(c *cli.Context) error {
			dir, path := c.String("index"), c.String("metadata")
			side, err := dataset.Metadata(path)
			if err != nil {
				return err
			}
			ix, err := index.Open(dir, index.OpenOptions{SkipVerify: true})
			if err != nil {
				return err
			}
			var unknown []string
			for id := range side {
				if _, ok := ix.PID(id); !ok {
					unknown = append(unknown, id)
				}
			}
			ix.Close()
			if len(unknown) > 0 {
				slices.Sort(unknown)
				return fmt.Errorf("index metadata: %s names %d ids with no live passage in %s (first: %q)", path, len(unknown), dir, unknown[0])
			}
			start := time.Now()
			m, err := index.SetMetadata(c.Context, dir, func(id string) map[string]any { return side[id] })
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "index metadata: %d of %d live passages given fields from %s in %s (%s, generation %d)\n",
				len(side), m.NumPassages-m.NumDeleted, path, time.Since(start).Round(time.Millisecond), m.Metadata, m.Generation)
			return nil
		},
	}
}
