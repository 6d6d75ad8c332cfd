package main

import (
	"bufio"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/data/tokenize"
	"github.com/urfave/cli/v2"
)

// vocabCommand is `colbert data vocab` (hung under `data` by main.go).
func vocabCommand() *cli.Command {
	d := tokenize.TrainOptions{VocabSize: 8000, MinFrequency: 2}
	return &cli.Command{
		Name:  "vocab",
		Usage: "train a WordPiece vocabulary on a corpus and write an HF tokenizer.json",
		Description: "For a corpus with no pretrained tokenizer (e.g. the built-in benchmark). The result is a BERT\n" +
			"WordPiece tokenizer.json (BertNormalizer, BertPreTokenizer, ## continuation pieces) with\n" +
			"[PAD]=0, [unused0]=1 and [unused1]=2 (the ColBERT [Q]/[D] markers), [UNK], [CLS], [SEP], [MASK].\n" +
			"The same corpus and options always give the same bytes.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "corpus", Required: true, Usage: "BEIR corpus.jsonl[.gz] (title + text) or MS MARCO collection.tsv"},
			outFlag("tokenizer.json to write"),
			&cli.IntFlag{Name: "size", Value: d.VocabSize, Usage: "vocabulary size, special tokens included"},
			&cli.IntFlag{Name: "min-frequency", Value: d.MinFrequency, Usage: "merge only pairs seen at least this often"},
			&cli.BoolFlag{Name: "cased", Usage: "keep case and accents (default: lowercase, strip accents)"},
			&cli.StringFlag{Name: "vocab-txt", Usage: "also write the vocabulary as a BERT vocab.txt here"},
			quietFlag(),
		},
		Action: func(c *cli.Context) error {
			corpus := c.String("corpus")
			opts := tokenize.TrainOptions{VocabSize: c.Int("size"), MinFrequency: c.Int("min-frequency"), Lowercase: !c.Bool("cased")}
			start := time.Now()
			texts, errp := corpusTexts(corpus)
			bar := newBar(c, "vocab: counting words", 0, "passages")
			js, err := tokenize.TrainWordPiece(c.Context, texts, opts, bar)
			bar.Finish()
			if err == nil {
				err = *errp
			}
			if err != nil {
				return err
			}
			out := c.String("out")
			if err := data.WriteFileAtomic(out, func(w *bufio.Writer) error { _, err := w.Write(js); return err }); err != nil {
				return err
			}
			tok, err := tokenize.Load(out)
			if err != nil {
				return fmt.Errorf("vocab: the written tokenizer does not load back: %w", err)
			}
			if p := c.String("vocab-txt"); p != "" {
				if err := data.WriteFileAtomic(p, func(w *bufio.Writer) error { _, err := w.Write(tok.VocabTxt()); return err }); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.App.ErrWriter, "vocab: %d tokens from %d passages of %s written to %s in %s\n",
				tok.VocabSize(), bar.Done(), corpus, out, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

// errStopped ends a corpus stream when the consumer stops early.
var errStopped = errors.New("stopped")

// corpusTexts streams the passages' contents (title + " " + text); the
// error of the stream is stored in *err once the sequence is done.
func corpusTexts(path string) (iter.Seq[string], *error) {
	var streamErr error
	seq := func(yield func(string) bool) {
		emit := func(ps []data.Passage) error {
			for _, p := range ps {
				if !yield(p.Content()) {
					return errStopped
				}
			}
			return nil
		}
		err := dataset.StreamPassages(path, 4096, emit)
		if err != nil && !errors.Is(err, errStopped) {
			streamErr = err
		}
	}
	return seq, &streamErr
}
