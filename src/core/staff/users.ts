import type { Db } from '../../db/schema.ts';
import { AppError } from '../errors.ts';
import { hashPassword } from './passwords.ts';
import { ROLES, type Role } from '../../wire/staff-api.ts';
import { can } from './policy.ts';
import { destroyUserSessions } from './sessions.ts';

export interface NewUser {
  username: string;
  password: string;
  role: string;
  displayName?: string;
  areaCodes?: string[];
}

/**
 * Creates or updates a user (by username); ward officers must be bound to known areas. Updating
 * an account (its password, role or units) ends its sessions: it signs in again.
 */
export async function upsertUser(db: Db, u: NewUser): Promise<{ id: number; created: boolean }> {
  if (!/^[a-z0-9._-]{3,64}$/i.test(u.username)) throw new AppError('user_name_invalid', 422, 'username: 3-64 letters, digits, . _ -');
  if (u.password.length < 8) throw new AppError('user_password_weak', 422, 'password must be at least 8 characters');
  if (!(ROLES as readonly string[]).includes(u.role)) throw new AppError('user_role_invalid', 422, `role must be one of ${ROLES.join(', ')}`);
  const areas = u.areaCodes ?? [];
  // A role that sees only its own units needs at least one.
  if (!can({ role: u.role as Role, areaCodes: [] }, 'units.all') && areas.length === 0) throw new AppError('user_area_missing', 422, `a ${u.role} needs at least one --area`);
  if (areas.length) {
    const found = await db.selectFrom('areas').select('code').where('code', 'in', areas).execute();
    const missing = areas.filter((a) => !found.some((f) => f.code === a));
    if (missing.length) throw new AppError('user_area_unknown', 422, `unknown area code(s): ${missing.join(', ')}`);
  }
  const row = {
    username: u.username.toLowerCase(), display_name: u.displayName ?? u.username, role: u.role,
    password_hash: await hashPassword(u.password), area_codes: JSON.stringify(areas),
  };
  const existing = await db.selectFrom('users').select('id').where('username', '=', row.username).executeTakeFirst();
  if (existing) {
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set(row).where('id', '=', existing.id).execute();
      await destroyUserSessions(tx, existing.id);
    });
    return { id: existing.id, created: false };
  }
  const created = await db.insertInto('users').values(row).returning('id').executeTakeFirstOrThrow();
  return { id: created.id, created: true };
}

/** Disables (or enables again) an account; disabling ends its sessions at once, open sockets within a minute. */
export async function setUserDisabled(db: Db, username: string, disabled: boolean): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const u = await tx.updateTable('users').set({ disabled }).where('username', '=', username.trim().toLowerCase()).returning('id').executeTakeFirst();
    if (!u) throw new AppError('user_not_found', 404, `no user ${username.slice(0, 64)}`);
    if (disabled) await destroyUserSessions(tx, u.id);
  });
}
