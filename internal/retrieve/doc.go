// Package retrieve finds candidate products for a search query, and keeps the compact
// in-memory product table the ranker reads by id or by dense index.
//
// Two engines answer text queries behind one API. EngineMemory (the default) keeps
// its own posting lists in memory: galloping AND from the shortest list, an
// accumulator for OR, champion lists (the top 1,000 docs by BM25 impact) so that a
// one-word query on a common word never scores the whole list, filters and facets
// read from the product table. EngineBleve indexes the same text in Bleve (scorch,
// BM25 scoring model), in memory or on disk; it is kept for comparison, for catalogs
// too large for memory, and as the reference the memory engine is tested against.
//
// Text is normalised once, in Go, by the same function at index and at query time
// (lower-casing, accent folding, a light plural stemmer, stop words, and shoe/apparel
// synonyms folded into one canonical token), and indexed into a single field in which
// name and brand are repeated three times, category/colour/material/style/gender twice
// and the description once: integer-weighted BM25F in one field, so a query term costs
// one posting list instead of a per-field disjunction. Queries run AND-first; only
// when that finds fewer than Options.MinResults products do they fall back to OR and to
// typo correction (edit distance 1 for words of at least 5 letters, looked up in a
// symmetric-delete dictionary of the catalog's words rather than with Bleve's slow
// fuzzy query). An empty query browses: filters only, ordered by a popularity prior
// the caller sets. Results are cached per query and filters; every catalog or
// popularity change bumps a generation that invalidates the cache.
//
// It must never do network I/O, never mutate a *catalog.Product it has handed out
// (updates replace products, they do not edit them), never reuse a dense index, and
// never let a write hold the lock searches need for longer than the pointer swaps that
// publish it (lists are rebuilt beside the live ones, under the writer lock only).
package retrieve
