package main

import (
	"fmt"
	"os"
	"strings"

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
