package distill

import "errors"

// parquetFormat is wired to data/parquetio when that package lands.
func parquetFormat() (Format, error) {
	return nil, errors.New("distill: Parquet datasets are not available in this build yet; use .jsonl")
}
