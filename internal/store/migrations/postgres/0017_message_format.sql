-- A message is written as plain text (with an optional HTML version, as
-- every message was before), as HTML, or as Markdown. body_text and
-- body_html stay what is sent: for an HTML message the text is generated
-- from the HTML, for a Markdown message both are generated from
-- body_markdown, when the message is saved. Existing messages are 'text'
-- and send exactly as before.
ALTER TABLE messages ADD COLUMN format TEXT NOT NULL DEFAULT 'text' CHECK (format IN ('text', 'html', 'markdown'));
ALTER TABLE messages ADD COLUMN body_markdown TEXT NOT NULL DEFAULT '';
