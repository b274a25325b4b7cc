-- A customer's rejoin token (hash) lets the SDK continue the session on the
-- next page of the bank's site without a new consent; each tenant gets a
-- public site key for the one-line SDK embed.

ALTER TABLE participants ADD COLUMN rejoin_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX participants_rejoin ON participants (rejoin_hash);
ALTER TABLE tenants ADD COLUMN site_key TEXT NOT NULL DEFAULT '';
CREATE INDEX tenants_site_key ON tenants (site_key);
UPDATE tenants SET site_key = 'pk_' || lower(hex(randomblob(16))) WHERE site_key = '';
