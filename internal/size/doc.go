// Package size is Bespoke's size and fit model: it parses size labels of the US shoe,
// alpha and numeric (waist) systems onto ordinal scales, learns a latent true size per
// customer and size system together with sizing offsets per brand and per product from
// kept purchases, size returns (too small / too large) and fit surveys, and recommends a
// size for a customer and product with per-size P(too small / fits / too large), a
// confidence and a fit note a shopper understands.
//
// A customer's true size is kept in one latent scale per system — men's US shoe sizes,
// alpha letters, waist inches — and each product's labels are converted by its Scale:
// women's shoes (a women's 8 fits like a men's 6.5; the product's gender, or a
// "W8"/"women's 8" label, decides) and US dress sizes 00–24 (read as the waist each is
// cut for). A survey shoe size that does not say whose scale it is in is read in the
// scale of the shoe asked about until a purchase settles it.
//
// The model follows Sembium et al. (RecSys 2017): a cumulative-logit (ordinal) loss on
// d = true size + offset − label, with symmetric thresholds; with Gaussian (L2) priors in
// the spirit of Guigourès et al. (RecSys 2018): brand offsets shrink to 0, a product's
// offset to its brand's, a customer's true size to a survey-based prior (an ordered
// logit on height, weight, age and gender, refined by smoothed cell counts) or to the
// population of their category and gender. How much brands and products differ (the
// spread of those priors) is learned from the data by EM. A purchase also says which
// label its buyer picked — most shoppers know their size — so each label pulls its
// buyer's true size (Options.ChoiceSD). Accounts that buy for two people are detected
// from bimodal kept sizes and get one true size per wearer. A purchase whose return
// window is still open is "not returned yet" rather than kept (Observation.Unsettled):
// its likelihood is P(fit) plus the share of its size returns still to come times
// P(misfit), so the newest purchases, whose returns are mostly missing, neither hide a
// brand's sizing nor pin their buyer's true size.
//
// Recommending is conservative: the customer's usual size unless the item runs small
// or large — its own size returns say so, failing that its brand's, failing that its
// description (DescribedFit) — and then at least one size step the other way (learned
// offsets fall short of the truth where buyers keep sizes a step off) — for a customer
// the model knows, their usual size moved by the item's verdict in whole steps, as for
// anyone; their estimated true size decides instead only where it rests on two
// purchases or more, is narrow and lands on the usual size (a brand that runs small,
// where they keep L); a size in stock
// unless only sizes much less likely to fit are; never one wearer's size for a product
// cut for the other sex; and a size from height and weight alone is called what it is
// (basis body), not the customer's own. Children's products (gender kids, boys,
// girls, youth…) make a wearer of their own: an account's adult and children's sizes
// are learned apart and never recommended for each other.
//
// The usual size (TrueSize.Usual) is the label kept most often as of the last training;
// Model.Update, folding purchases and returns in between, gives an entry without one
// its first and otherwise moves it only when it comes back (a step the return's way,
// unless the item's verdict explains the return): a size bought on advice in an item
// that runs small, a gift, a size still to come back are no new habit.
//
// Training (Trainer.Fit) takes plain Go values; the serving path (Model.Recommend,
// Model.RecommendProfile) is allocation-light and safe for concurrent use because a
// Model is immutable once built; Model.Update returns a new Profile instead of mutating.
// Profiles, item offsets and the model's shared parts have compact binary encodings for
// a key-value store. Evaluate and Compare measure accuracy and per-class AUC
// (Misra, Wan, McAuley, RecSys 2018) against the customer's-usual-size and
// single-latent-variable baselines; given a FitTruth (a simulated world's), also how
// often the recommended size, and the size a shopper following the advice takes,
// truly fits — accuracy against the size kept counts sizes kept a step off as right.
//
// The package must never perform I/O beyond the io.Reader it is handed, never keep
// global mutable state, never depend on the lake, stream, store or server packages, and
// never panic on any input: bad labels, options and encodings are errors.
package size
