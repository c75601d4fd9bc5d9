package api

// BackupContentType is the media type of GET /v1/backup's answer: a whole SQLite database
// file, a consistent copy of podrun's live database.
const BackupContentType = "application/vnd.sqlite3"
