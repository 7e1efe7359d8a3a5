// Package spec reads and writes the OCI documents hardened-runc rewrites: a
// bundle's config.json, the process.json of `runc exec -p`, and the resources
// JSON of `runc update --resources`.
//
// Modifiers work on the typed runtime-spec structs, but the file written back
// is not a re-marshalled struct: every field the typed struct does not know,
// at any depth, is carried over from the original, numbers keep their exact
// text, and a document nobody changed is returned byte for byte. Files are
// opened without following symlinks or blocking on FIFOs, size-capped, and
// written back atomically with the original's mode and owner.
package spec
