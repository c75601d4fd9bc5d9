-- Saved logs keep every line with its stream, time and position, so the
-- output reads back in the order it was written (see loglines.go for the
-- encoding). Rows saved before this have lines NULL and their output in
-- stdout and stderr, which new saves leave empty.
ALTER TABLE logs ADD COLUMN lines BLOB;
