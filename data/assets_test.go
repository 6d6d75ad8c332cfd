package data

import (
	"testing"

	"github.com/colbert-go/colbert/data/testassets"
)

func assetPath(t testing.TB, rel string) string { return testassets.Path(t, rel) }
