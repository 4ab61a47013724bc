// `npm ci` says nothing about install scripts: each dependency that has one is allowed or
// denied in the root package.json's allowScripts, and what is denied works without it.
import { npm, ROOT } from './support/published';

test('no installed package has an install script allowScripts does not cover', () => {
  const listed = JSON.parse(npm(['install-scripts', 'ls', '--json'], ROOT)) as { allowScripts: { name: string }[] };
  expect(listed.allowScripts.map((entry) => entry.name)).toEqual([]);
});
