/** The authenticated caller, as handlers see it. */
export interface AuthUser {
  id: string;
  email: string;
  name: string;
  image: string | null;
  role: "user" | "admin" | "moderator";
  entitlements: string[];
  ageVerified: boolean;
  tosAccepted: boolean;
  /** The sessions row id (not the secret); null for the development bypass. */
  sessionId: string | null;
  sessionExpiresAt: Date | null;
  devBypass: boolean;
}

/** Admin gate of the spec (§2.5): the admin role or the admin:access entitlement. */
export function isAdmin(user: AuthUser): boolean {
  return user.role === "admin" || user.entitlements.includes("admin:access");
}
