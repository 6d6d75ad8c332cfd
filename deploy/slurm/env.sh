# Settings shared by the Slurm scripts (sourced). Every path must be on
# storage all nodes see (NFS, Lustre, GPFS…): the encode tasks write their
# chunks next to the plan, and the merge reads them all.
SHARED=${SHARED:-/shared/colbert}
COLBERT=${COLBERT:-colbert}                     # the colbert binary (on PATH or a path)
CHECKPOINT=${CHECKPOINT:-$SHARED/checkpoints/colbertv2}
COLLECTION=${COLLECTION:-$SHARED/data/msmarco/collection.tsv}
PLAN=${PLAN:-$SHARED/plan}
INDEX=${INDEX:-$SHARED/index}
# Teacher scoring.
TEACHER=${TEACHER:-$SHARED/teacher/model.onnx}
TEACHER_TOKENIZER=${TEACHER_TOKENIZER:-$SHARED/teacher/tokenizer.json}
QUERIES=${QUERIES:-$SHARED/data/msmarco/queries.train.tsv}
CANDIDATES=${CANDIDATES:-$SHARED/candidates.parquet}
SCORED=${SCORED:-$SHARED/teacher.parquet}
