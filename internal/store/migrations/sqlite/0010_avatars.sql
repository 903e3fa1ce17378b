-- Profile pictures, stored with the account so that every instance serves
-- them. users.avatar_version is 0 when there is none, else a number that
-- grows with every upload: it is part of the picture's URL, so that a
-- browser may keep a picture for good and still sees a new one at once.
ALTER TABLE users ADD COLUMN avatar_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE avatars (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg')),
    data         BLOB NOT NULL,
    updated_at   DATETIME NOT NULL
);
