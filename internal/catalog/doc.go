// Package catalog is the product model of CONTRACT §3 (products, their sizes and size
// systems) and the readers that load catalogs from JSON lines, JSON arrays and CSV.
//
// A catalog with nothing but ids and a category must load: every field other than
// product_id is optional, and a missing name is derived from what is there.
//
// It must never perform network I/O or keep global state; readers report the line
// and field of every problem instead of skipping products silently.
package catalog
