// Package profile is a customer's (or an anonymous visitor's) personalization state:
// time-decayed affinities to brands, categories, colours, styles, the gender a
// product is cut for (men's, women's, unisex, children's) and a shoe's width, a price band,
// recently touched items, predicted sizes and the opt-out flag — and how one event
// changes it.
//
// Profiles are small by design (a compact binary encoding of about 100–250 bytes) so that
// a million of them fit the online store in well under 0.25 GiB. Attribute values are
// kept as 32-bit hashes, not strings: a profile answers "how much does this customer
// like brand X" for a given X, and never needs to list names.
//
// The package must never perform I/O: the updater that reads events and writes profiles
// to the online store lives with the server and passes events in.
package profile
