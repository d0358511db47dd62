// Package experiment assigns customers and visitors to the arms of the A/B test
// (deterministically, by hash, with a configurable split) and computes the business
// metrics of each arm from the lake: search→click-through, the position of clicked and
// purchased items, the repeated-search rate, conversion and the size-related return
// rate, each with a 95% confidence interval from a bootstrap over customers (the unit
// of randomization, so clustered events are not treated as independent).
//
// It must never change what a customer sees: it only says which arm they are in and
// measures afterwards.
package experiment
