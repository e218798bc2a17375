// Passwords are hashed with argon2id (Bun.password); plain text never reaches the store.

const MAX_PASSWORD_BYTES = 512;

export interface HashingCost {
  memory_kib: number;
  iterations: number;
}

export function hashPassword(password: string, cost: HashingCost): Promise<string> {
  return Bun.password.hash(password, { algorithm: "argon2id", memoryCost: cost.memory_kib, timeCost: cost.iterations });
}

// A hash of a random string, verified against when the user does not exist so
// that "no such user" and "wrong password" take the same time.
let decoyHash: Promise<string> | undefined;

export async function verifyPassword(password: string, hash: string | null | undefined): Promise<boolean> {
  if (!hash) {
    decoyHash ??= hashPassword(crypto.randomUUID(), { memory_kib: 19456, iterations: 2 });
    await Bun.password.verify(password, await decoyHash).catch(() => false);
    return false;
  }
  return Bun.password.verify(password, hash).catch(() => false);
}

export function isAcceptablePassword(password: string): boolean {
  return password.length > 0 && Buffer.byteLength(password) <= MAX_PASSWORD_BYTES;
}
