import { describe, expect, it } from 'vitest';
import { sessionUser, login } from '../src/core/staff/sessions.ts';
import { cliSandbox } from './support/cli.ts';

// `npx phananh user add` as an operator runs it: a child process on its own database (embedded
// PGlite under a temporary DATA_DIR, or a new PostgreSQL database). Each run boots the database,
// so there are three, in order: a two-unit officer, then the two refusals.

const { cli, inspect } = cliSandbox('phananh-accounts');

describe('phananh user add', { timeout: 120_000 }, () => {
  it('binds a ward officer to every repeated --area, and the account can sign in', async () => {
    const r = await cli('user', 'add', '--username', 'hai.phuong', '--password', 'matkhau-2phuong', '--role', 'ward_officer',
      '--name', 'Cán bộ hai phường', '--area', '26743', '--area', '26740');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('created user hai.phuong (ward_officer)');
    // The child has exited, so the embedded database can be opened here.
    await inspect(async (db) => {
      const s = await login(db, 'hai.phuong', 'matkhau-2phuong', 'cli-test');
      expect(s.user).toMatchObject({ username: 'hai.phuong', displayName: 'Cán bộ hai phường', role: 'ward_officer', areaCodes: ['26743', '26740'] });
      expect((await sessionUser(db, s.token))?.areaCodes).toEqual(['26743', '26740']);
    });
  });

  it('names a wrong role (user_role_invalid) and an unknown area (user_area_unknown)', async () => {
    const role = await cli('user', 'add', '--username', 'sep', '--password', 'matkhau-sep-1', '--role', 'chief');
    expect(role.code).not.toBe(0);
    expect(role.stderr).toMatch(/^phananh: user_role_invalid: role must be one of agent, supervisor, ward_officer, admin$/m);
    const area = await cli('user', 'add', '--username', 'lac.duong', '--password', 'matkhau-lac-1', '--role', 'ward_officer', '--area', '26743', '--area', '99999');
    expect(area.code).not.toBe(0);
    expect(area.stderr).toMatch(/^phananh: user_area_unknown: unknown area code\(s\): 99999$/m);
  });

  it('user disable ends the account\'s sessions and refuses its sign-in; user enable lets it in again', async () => {
    const token = await inspect(async (db) => (await login(db, 'hai.phuong', 'matkhau-2phuong', 'cli-test-2')).token);
    const off = await cli('user', 'disable', '--username', 'Hai.Phuong');
    expect(off.stdout).toContain('disabled user hai.phuong');
    await inspect(async (db) => {
      expect(await sessionUser(db, token)).toBeNull();
      expect(await db.selectFrom('sessions').select('id').execute()).toEqual([]);
      await expect(login(db, 'hai.phuong', 'matkhau-2phuong', 'cli-test-3')).rejects.toMatchObject({ code: 'login_disabled' });
    });
    expect((await cli('user', 'enable', '--username', 'hai.phuong')).code).toBe(0);
    await inspect(async (db) => expect((await login(db, 'hai.phuong', 'matkhau-2phuong', 'cli-test-4')).user.username).toBe('hai.phuong'));
    const unknown = await cli('user', 'disable', '--username', 'nobody');
    expect(unknown.stderr).toMatch(/user_not_found/);
  });
});
