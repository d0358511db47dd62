// Package retrieve finds candidate products for a search query: a Bleve (scorch) index
// of the catalog scored with BM25, plus a compact in-memory product table the ranker
// reads by id or by dense index without touching Bleve.
//
// Text is normalised once, in Go, by the same function at index and at query time
// (lower-casing, accent folding, a light plural stemmer, stop words, and shoe/apparel
// synonyms folded into one canonical token), and indexed into a single field in which
// name and brand are repeated three times, category/colour/material/style/gender twice
// and the description once: integer-weighted BM25F in one field, so a query term costs
// one Bleve term searcher instead of a per-field disjunction. Queries run AND-first; only
// when that finds fewer than Options.MinResults products do they fall back to OR and to
// typo correction (edit distance 1 for terms of at least 5 characters, looked up in a
// symmetric-delete dictionary of the catalog's words rather than with Bleve's slow fuzzy
// query). An empty query browses: filters only, ordered by a popularity prior the caller
// sets. Results are cached per query and filters; every catalog or popularity change
// bumps a generation that invalidates the cache.
//
// It must never do network I/O, never mutate a *catalog.Product it has handed out
// (updates replace products, they do not edit them), and never let a write block
// searches for longer than the few map updates it takes to swap the table entries.
package retrieve
