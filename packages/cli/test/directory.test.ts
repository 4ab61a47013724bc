import fs from 'node:fs';
import path from 'node:path';
import { generateKey, signet, signetOk, singleErrorLine, snapshotDir, tool, useTempDir, writeFile } from '@signet/test-support';

const tmp = useTempDir();

function signedBuild(): { dir: string; pub: string } {
  const dir = tmp();
  const { key, pub } = generateKey(dir, 'release');
  writeFile(dir, 'dist/index.html', '<script src="assets/app.js"></script>');
  writeFile(dir, 'dist/assets/app.js', 'console.log(1)\n//# sourceMappingURL=app.js.map');
  writeFile(dir, 'dist/assets/app.js.map', '{"version":3}');
  writeFile(dir, 'dist/assets/logo.svg', '<svg/>');
  const signed = signetOk(['sign-dir', 'dist', '--key', key, '--sha256sums'], { cwd: dir });
  expect(signed.stderr).toContain('signed 4 files of dist');
  return { dir, pub };
}

describe('signet sign-dir / verify-dir', () => {
  it('signs a folder as one manifest and verifies it, with a SHA256SUMS that sha256sum accepts', () => {
    const { dir, pub } = signedBuild();
    expect(fs.existsSync(path.join(dir, 'dist/.well-known/signet/manifest.sigstore.json'))).toBe(true);
    const verified = signetOk(['verify-dir', 'dist', '--key', pub], { cwd: dir });
    expect(verified.stderr).toMatch(/^Verified OK: dist \(5 files\)\n {2}signed by key release\.pub/);
    expect(tool('sha256sum', ['-c', '.well-known/signet/SHA256SUMS'], path.join(dir, 'dist'))).toContain('assets/app.js: OK');
    const json = JSON.parse(signetOk(['verify-dir', 'dist', '--key', pub, '--json'], { cwd: dir }).stdout);
    expect(json).toMatchObject({ ok: true, files: 5, allowedExtra: [] });
  });

  it.each([
    ['a changed byte', (dist: string) => fs.appendFileSync(path.join(dist, 'assets/app.js'), ' '), 'modified assets/app.js'],
    ['an added script', (dist: string) => fs.writeFileSync(path.join(dist, 'assets/evil.js'), 'steal()'), 'extra assets/evil.js'],
    ['a deleted page', (dist: string) => fs.rmSync(path.join(dist, 'index.html')), 'missing index.html'],
  ])('catches %s by name: exit 1, one line', (_what, tamper, named) => {
    const { dir, pub } = signedBuild();
    tamper(path.join(dir, 'dist'));
    const result = signet(['verify-dir', 'dist', '--key', pub], { cwd: dir });
    expect(result.status).toBe(1);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_SIGNATURE');
    expect(error.message).toContain(named);
  });

  it('lists every difference with --json, and lets through what --allow-extra names', () => {
    const { dir, pub } = signedBuild();
    writeFile(dir, 'dist/uploads/a.jpg', 'x');
    writeFile(dir, 'dist/assets/evil.js', 'x');
    const result = signet(['verify-dir', 'dist', '--key', pub, '--allow-extra', 'uploads/**', '--json'], { cwd: dir });
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      extra: ['assets/evil.js'],
      allowedExtra: ['uploads/a.jpg'],
      error: { code: 'E_SIGNATURE' },
    });
    fs.rmSync(path.join(dir, 'dist/assets/evil.js'));
    expect(signet(['verify-dir', 'dist', '--key', pub, '--allow-extra', 'uploads/**'], { cwd: dir }).status).toBe(0);
  });

  it('verifies with the manifest kept elsewhere (--bundle), and refuses another key', () => {
    const { dir, pub } = signedBuild();
    fs.renameSync(path.join(dir, 'dist/.well-known/signet/manifest.sigstore.json'), path.join(dir, 'manifest.json'));
    expect(signet(['verify-dir', 'dist', '--bundle', 'manifest.json', '--key', pub], { cwd: dir }).status).toBe(0);
    const other = generateKey(dir, 'other');
    const result = signet(['verify-dir', 'dist', '--bundle', 'manifest.json', '--key', other.pub], { cwd: dir });
    expect([result.status, singleErrorLine(result.stderr).code]).toEqual([1, 'E_SIGNATURE']);
  });

  it('refuses bad input without writing: no manifest (2), not a folder (2), a missing folder (2)', () => {
    const dir = tmp();
    const { pub } = generateKey(dir, 'k');
    writeFile(dir, 'dist/a.js', 'x');
    const before = snapshotDir(dir);
    for (const target of ['dist', 'dist/a.js', 'nope']) {
      const result = signet(['verify-dir', target, '--key', pub], { cwd: dir });
      expect(result.status).toBe(2);
      expect(singleErrorLine(result.stderr).code).toMatch(/^E_(INPUT|BUNDLE)$/);
    }
    expect(snapshotDir(dir)).toEqual(before);
  });
});
