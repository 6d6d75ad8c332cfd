package server

import "net/http"

// openAPI describes every route of the server (a test checks it against
// the mux and the request and response types).
const openAPI = `{
  "openapi": "3.0.3",
  "info": {
    "title": "colbert serve",
    "description": "ColBERTv2 late-interaction search (PLAID) over one index. Every request answers from the index generation current when it starts; ` + "`colbert index append`/`delete`" + ` followed by SIGHUP (or --watch), or POST/DELETE /passages on a --writable server, swaps in the new generation without a restart. Passage ids and pids are stable across generations.",
    "version": "1"
  },
  "paths": {
    "/search": {
      "post": {
        "summary": "Top-k passages of one query, or of a batch of queries",
        "description": "Give \"query\" for one ranking or \"queries\" (at most --max-batch) for one ranking per query, in order. ncells, ndocs and threshold override PLAID's defaults for k.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchRequest"}}}},
        "responses": {
          "200": {"description": "Rankings: SearchResponse for \"query\", BatchSearchResponse for \"queries\"",
            "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/SearchResponse"}, {"$ref": "#/components/schemas/BatchSearchResponse"}]}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"},
          "415": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"},
          "504": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/rerank": {
      "post": {
        "summary": "Score given passages by exact MaxSim",
        "description": "Scores the indexed passages named by \"ids\" (decompressed in full), or the given \"texts\" (encoded as passages), against the query; answers all of them, best first. Unknown or deleted ids are a 400 naming them. For texts, a result's id is the text's position in the request and its pid is -1.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RerankRequest"}}}},
        "responses": {
          "200": {"description": "The passages, best first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RerankResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"},
          "415": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"},
          "504": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/passages": {
      "post": {
        "summary": "Add passages to the index (colbert serve --writable)",
        "description": "Encodes the passages, appends them to the index as a new generation (committed atomically; new pids follow the existing ones) and serves it before answering. Each passage is a corpus.jsonl record: \"_id\" or \"id\", \"text\", optional \"title\"; other fields are metadata that filters can name. An id already live (or given twice) is a 409 and nothing is added; while another process updates the index (colbert index append/delete) the answer is 503 with Retry-After. Updates run one at a time; searches answer from the previous generation until this one is served. A read-only server answers 403.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AddPassagesRequest"}}}},
        "responses": {
          "200": {"description": "Added and served", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "409": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"},
          "415": {"$ref": "#/components/responses/Error"},
          "500": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      },
      "delete": {
        "summary": "Delete passages from the index (colbert serve --writable)",
        "description": "Tombstones the passages as a new generation (their pids are not reused; other passages keep theirs) and serves it before answering. An id that is not live (or given twice) is a 409 and nothing is deleted; while another process updates the index the answer is 503 with Retry-After. A read-only server answers 403.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DeletePassagesRequest"}}}},
        "responses": {
          "200": {"description": "Deleted and served", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "409": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"},
          "415": {"$ref": "#/components/responses/Error"},
          "500": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/healthz": {
      "get": {
        "summary": "Liveness, with the index generation served",
        "responses": {
          "200": {"description": "Serving", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
          "503": {"$ref": "#/components/responses/Error"}
        }
      },
      "head": {
        "summary": "Liveness without a body",
        "responses": {"200": {"description": "Serving"}, "503": {"description": "Closed"}}
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics: requests, /search latency, per-stage query times, index generation",
        "responses": {"200": {"description": "Prometheus text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}}
      }
    },
    "/openapi.json": {
      "get": {
        "summary": "This description",
        "responses": {"200": {"description": "OpenAPI 3 document", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    }
  },
  "components": {
    "responses": {
      "Error": {"description": "The request was refused or failed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "SearchRequest": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "query": {"type": "string", "description": "One query (or give queries)"},
          "queries": {"type": "array", "items": {"type": "string"}, "minItems": 1, "description": "A batch of queries (or give query)"},
          "k": {"type": "integer", "minimum": 1, "default": 10},
          "ncells": {"type": "integer", "minimum": 1, "description": "Centroids probed per query token"},
          "ndocs": {"type": "integer", "minimum": 1, "description": "Candidates kept by centroid interaction"},
          "threshold": {"type": "number", "nullable": true, "description": "Centroid score pruning threshold (0 is a threshold; absent or null takes the default for k)"},
          "filter": {"type": "string", "description": "SQL condition over the index's metadata columns, e.g. year >= 2020 AND source = 'pubmed': only passages satisfying it are searched (one expression; a bad one is 400)"},
          "filter_ids": {"type": "array", "items": {"type": "string"}, "description": "Only these passage ids are searched (with filter: both must hold); an unknown id is 400 unless filter_ids_missing is ignore"},
          "filter_ids_missing": {"type": "string", "enum": ["error", "ignore"], "default": "error", "description": "What an id of filter_ids the index does not hold does: error (400 naming it) or ignore (left out, listed in unknown_ids); the router asks shards to ignore and fails only for ids no shard holds"}
        }
      },
      "Hit": {
        "type": "object",
        "required": ["rank", "id", "pid", "score"],
        "properties": {
          "rank": {"type": "integer", "minimum": 1},
          "id": {"type": "string", "description": "Passage id of the collection"},
          "pid": {"type": "integer", "description": "Position of the passage in the index (stable across appends and deletes)"},
          "score": {"type": "number", "description": "MaxSim score"},
          "text": {"type": "string", "description": "Passage text, when the server knows the collection"}
        }
      },
      "SearchResponse": {
        "type": "object",
        "required": ["query", "k", "results", "generation"],
        "properties": {
          "query": {"type": "string"},
          "k": {"type": "integer"},
          "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
          "generation": {"type": "integer", "description": "Index generation that answered"},
          "took_ms": {"type": "number"},
          "unknown_ids": {"type": "array", "items": {"type": "string"}, "description": "filter_ids the index does not hold (filter_ids_missing ignore)"}
        }
      },
      "BatchSearchResponse": {
        "type": "object",
        "required": ["k", "results", "generation"],
        "properties": {
          "k": {"type": "integer"},
          "results": {"type": "array", "items": {
            "type": "object",
            "required": ["query", "results"],
            "properties": {
              "query": {"type": "string"},
              "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}}
            }
          }},
          "generation": {"type": "integer", "description": "Index generation that answered every query of the batch"},
          "took_ms": {"type": "number"},
          "unknown_ids": {"type": "array", "items": {"type": "string"}, "description": "filter_ids the index does not hold (filter_ids_missing ignore)"}
        }
      },
      "RerankRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": ["query"],
        "properties": {
          "query": {"type": "string"},
          "ids": {"type": "array", "items": {"type": "string"}, "description": "Passage ids of the index (or give texts)"},
          "texts": {"type": "array", "items": {"type": "string"}, "description": "Texts to score (or give ids)"}
        }
      },
      "RerankResponse": {
        "type": "object",
        "required": ["query", "results", "generation"],
        "properties": {
          "query": {"type": "string"},
          "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
          "generation": {"type": "integer"},
          "took_ms": {"type": "number"}
        }
      },
      "AddPassagesRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": ["passages"],
        "properties": {
          "passages": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "properties": {
              "_id": {"type": "string"},
              "id": {"type": "string"},
              "title": {"type": "string"},
              "text": {"type": "string"}
            },
            "additionalProperties": true
          }, "description": "At most --max-update passages"}
        }
      },
      "DeletePassagesRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": ["ids"],
        "properties": {
          "ids": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "At most --max-update ids"}
        }
      },
      "UpdateResponse": {
        "type": "object",
        "required": ["generation", "passages"],
        "properties": {
          "added": {"type": "integer"},
          "deleted": {"type": "integer"},
          "generation": {"type": "integer", "description": "Index generation now served"},
          "passages": {"type": "integer", "description": "Live passages now served"},
          "took_ms": {"type": "number"}
        }
      },
      "Health": {
        "type": "object",
        "properties": {
          "status": {"type": "string", "enum": ["ok"]},
          "generation": {"type": "integer"},
          "passages": {"type": "integer"}
        }
      },
      "Error": {
        "type": "object",
        "required": ["error", "code"],
        "properties": {
          "error": {"type": "string"},
          "code": {"type": "integer"}
        }
      }
    }
  }
}
`

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(openAPI))
}
