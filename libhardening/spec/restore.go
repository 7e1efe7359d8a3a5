package spec

import "errors"

// Restore puts data back as config.json, atomically and with the file's
// mode and owner: data is Original() as it was before Write. The runtime
// calls it when a launch fails after the hardened config.json was written
// (the forensic record could not be stored, a last step before exec
// failed), so a launch that does not go ahead leaves config.json exactly
// as it came. The Document must not be written again afterwards.
func (d *Document) Restore(data []byte) error {
	if d.path == "" {
		return errors.New("spec: Restore on a document that was not loaded from a file")
	}
	info, err := writeAtomic(d.path, data, d.info)
	if info.ino != 0 {
		d.info = info
	}
	return err
}
