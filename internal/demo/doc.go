// Package demo is `bespoke demo`: the whole story on one machine. It starts the
// embedded server, plays a simulated world's history against it through the public
// APIs (as a store before personalization), trains, then plays the A/B period with
// customers split between the non-personalized ranking (control) and the personalized
// one, then the days after it without shoppers until the returns of its orders are all
// in, and prints the before/after table of CONTRACT §6 from the lake's events.
//
// It only drives public components (server, simulator); it must never reach around
// the HTTP API to make the numbers look better.
package demo
