import type { AppContext } from "../../context";
import type { Sql } from "../../db/sql";
import { audit } from "../audit";
import type { Identity, OAuthProvider } from "./provider";

/** `created`: a new user; otherwise the provider's account existed already or was linked now by email. */
export type SignInResult = { userId: string; created: boolean } | { refused: "email_in_use" | "no_email" };

/**
 * The account-linking policy. Accounts are found by (provider, subject), never by email alone.
 * A new provider links to an existing user by email only when both sides verified that email:
 * the provider asserts it now, and the user's email was verified when it was claimed. Otherwise
 * it is refused rather than linked — in particular an account created from an unverified email
 * (which anyone could claim) never receives the verified owner's sign-in (pre-account takeover).
 */
export async function resolveAccount(tx: Sql, ctx: AppContext, provider: OAuthProvider, who: Identity): Promise<SignInResult> {
  const known = await tx.query<{ user_id: string }>(
    "SELECT user_id FROM accounts WHERE provider = $1 AND provider_account_id = $2",
    [provider.accountProvider, who.subject],
  );
  if (known[0]) return { userId: known[0].user_id, created: false };
  if (who.email === null) return { refused: "no_email" };

  const sameEmail = await tx.query<{ id: string; verified: boolean }>(
    "SELECT id, email_verified IS NOT NULL AS verified FROM users WHERE lower(email) = lower($1)",
    [who.email],
  );
  let userId = sameEmail[0]?.id;
  let created = false;
  if (userId && !(who.emailVerified && sameEmail[0]!.verified)) return { refused: "email_in_use" };
  if (!userId) {
    const rows = await tx.query<{ id: string }>(
      `INSERT INTO users (name, email, email_verified, image) VALUES ($1, $2, CASE WHEN $3 THEN now() END, $4) RETURNING id`,
      [who.name ?? "User", who.email, who.emailVerified, who.image],
    );
    userId = rows[0]!.id;
    created = true;
    await tx.query(`INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE name = 'user'`, [userId]);
    await audit(tx, ctx, "user_created", { userId, resourceType: "user", resourceId: userId, details: { provider: provider.id } });
  }
  const account = await tx.query<{ id: string }>(
    `INSERT INTO accounts (user_id, provider, provider_account_id, email, email_verified) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [userId, provider.accountProvider, who.subject, who.email, who.emailVerified],
  );
  if (!created) {
    await audit(tx, ctx, "account_linked", { userId, resourceType: "account", resourceId: account[0]!.id, details: { provider: provider.id, email: who.email } });
  }
  return { userId, created };
}
