// The seed's journey in a real browser: register at the Customer Portal, confirm from
// the mail, an operator approves, first login with the one-time password, forced
// password change, the Customer Portal shows support information, the App Portal logs
// in without a form (SSO), logout from the App Portal signs out of both portals.
//
// Runs the release binaries (target/release/idp and target/release/relying-party-demo),
// a real SMTP server (smtp-server) and Debian's Chromium (playwright-core). Every
// request outside 127.0.0.1 is refused. Screenshots: tests/out/screenshots/.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IDP = path.join(ROOT, 'target/release/idp');
const RP = path.join(ROOT, 'target/release/relying-party-demo');
const SHOTS = path.join(ROOT, 'tests/out/screenshots');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-browser-'));
const children = [];
let lastPage = null; // for a screenshot when something fails

const step = (what) => console.log(`ok   ${what}`);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// ---- A real SMTP server keeping every message --------------------------------------
const mails = [];
async function startSmtp() {
  const port = await freePort();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), subject: mail.subject, text: mail.text });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, close: () => server.close() };
}

async function waitForMail(to, n) {
  for (let i = 0; i < 200; i++) {
    const got = mails.filter((m) => m.to.includes(to));
    if (got.length >= n) return got[n - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail #${n} to ${to}`);
}

// ---- The provider and the portals ----------------------------------------------------
function start(name, bin, args, env) {
  const log = fs.openSync(path.join(TMP, `${name}.log`), 'a');
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  children.push({ name, child });
  return child;
}

async function waitHttp(url) {
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

// Asynchronous on purpose: the CLI delivers mail to the SMTP server in this process,
// whose event loop must keep running meanwhile.
async function cli(env, args) {
  const { stdout } = await promisify(execFile)(IDP, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  return stdout;
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const smtp = await startSmtp();
  const [idpPort, customerPort, appPort] = [await freePort(), await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${idpPort}`;
  const customer = `http://127.0.0.1:${customerPort}`;
  const app = `http://127.0.0.1:${appPort}`;
  const idpEnv = {
    IDP_ISSUER: issuer,
    IDP_LISTEN: `127.0.0.1:${idpPort}`,
    IDP_DATABASE_URL: `sqlite://${TMP}/idp.sqlite3`,
    IDP_KEYS__KEK_FILE: `${TMP}/kek`,
    IDP_MAIL__SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    IDP_MAIL__POLL_INTERVAL_MS: '200',
    IDP_REGISTRATION__PORTAL_LOGIN_URL: `${customer}/`,
    IDP_LOG__FILTER: 'info,sqlx=warn',
  };
  const scope = 'openid profile email company roles support offline_access';
  const register = async (id, name, base) =>
    JSON.parse(
      await cli(idpEnv, [
        'clients', 'create', '--json', '--name', name, '--client-id', id,
        '--redirect-uri', `${base}/callback`, '--post-logout-redirect-uri', `${base}/`,
        '--backchannel-logout-uri', `${base}/backchannel-logout`, '--scope', scope,
      ]),
    );
  const customerClient = await register('customer-portal', 'Customer Portal', customer);
  const appClient = await register('app-portal', 'App Portal', app);
  start('idp', IDP, [], idpEnv);
  await waitHttp(`${issuer}/readyz`);
  start('portals', RP, [], {
    RP_ISSUER: issuer,
    CUSTOMER_PORTAL_LISTEN: `127.0.0.1:${customerPort}`,
    CUSTOMER_PORTAL_CLIENT_ID: customerClient.client_id,
    CUSTOMER_PORTAL_CLIENT_SECRET: customerClient.client_secret,
    APP_PORTAL_LISTEN: `127.0.0.1:${appPort}`,
    APP_PORTAL_CLIENT_ID: appClient.client_id,
    APP_PORTAL_CLIENT_SECRET: appClient.client_secret,
  });
  await waitHttp(`${customer}/healthz`);
  await waitHttp(`${app}/healthz`);
  step('provider, SMTP server and both portals are up');

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 900 } });
  // Nothing but the provider and the portals on 127.0.0.1.
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === '127.0.0.1' ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  lastPage = page;
  let shot = 0;
  const screenshot = async (name, p = page) => {
    shot += 1;
    await p.screenshot({ path: path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };

  // 1. The Customer Portal checks silently, finds no session, offers Login.
  await page.goto(`${customer}/`);
  await page.getByRole('button', { name: 'Login' }).waitFor();
  await screenshot('customer-portal-anonymous');
  await page.getByRole('button', { name: 'Login' }).click();
  await page.waitForURL(`${issuer}/login?**`);
  await screenshot('provider-login');
  step('the Customer Portal sends the browser to the provider\'s login page');

  // 2. Register with a business address; the summary follows the typing.
  await page.getByRole('link', { name: 'Register' }).first().click();
  await page.waitForURL(`${issuer}/register**`);
  const email = 'jane.doe@acme-industries.example';
  await page.locator('#complete').waitFor({ state: 'hidden' });
  await page.fill('#given_name', 'Jane');
  await page.fill('#family_name', 'Doe');
  await page.fill('#email', 'jane@gmail.com');
  await page.fill('#company', 'ACME Industries');
  await page.selectOption('#country', 'DE');
  await page.fill('#job_title', 'IT Manager');
  await page.check('#terms');
  assert.ok(await page.locator('#complete').isVisible(), 'the summary says everything is entered');
  await screenshot('registration-form-complete');
  await page.getByRole('button', { name: 'Submit' }).click();
  await page.locator('#email-error').waitFor();
  assert.match(await page.locator('#email-error').innerText(), /free e-mail providers/);
  await screenshot('registration-free-mail-refused');
  await page.fill('#email', email);
  await page.check('#terms');
  await page.getByRole('button', { name: 'Submit' }).click();
  await page.getByRole('heading', { name: 'Check your mailbox' }).waitFor();
  await screenshot('registration-check-mailbox');
  step('registration with a business address; a free-mail address is refused with a reason');

  // 3. Confirm from the mail.
  const confirmation = await waitForMail(email, 1);
  const link = confirmation.text.match(/https?:\/\/\S+/)[0];
  assert.ok(link.startsWith(`${issuer}/register/confirm?token=`), link);
  await page.goto(link);
  await screenshot('confirm-registration');
  await page.getByRole('button', { name: 'Confirm registration' }).click();
  await page.getByRole('heading', { name: 'Thank you' }).waitFor();
  await screenshot('registration-confirmed');
  step('the confirmation link from the mail');

  // 4. An operator approves; the company gets Priority support in EMEA.
  const pending = JSON.parse(await cli(idpEnv, ['registrations', 'list', '--json']));
  assert.equal(pending.length, 1);
  await cli(idpEnv, ['registrations', 'approve', pending[0].id]);
  await cli(idpEnv, ['companies', 'set', 'acme-industries.example', '--support-level', 'priority', '--region', 'EMEA']);
  const welcome = await waitForMail(email, 2);
  const username = welcome.text.match(/Username:\s*(\S+)/)[1];
  const otp = welcome.text.match(/One-time password:\s*(\S+)/)[1];
  assert.equal(username, email);
  step('approved with the CLI; the welcome mail has the username and a one-time password');

  // 5. First login with the one-time password, forced change, back at the portal.
  await page.goto(`${customer}/`);
  await page.getByRole('button', { name: 'Login' }).click();
  await page.waitForURL(`${issuer}/login?**`);
  await page.fill('#username', username);
  await page.fill('#password', otp);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${issuer}/password/new?**`);
  await screenshot('forced-password-change');
  const password = 'violet kettle drums at dawn';
  await page.fill('#new_password', 'password1234');
  await page.fill('#confirm_password', 'password1234');
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.locator('#password-error').waitFor();
  await page.fill('#new_password', password);
  await page.fill('#confirm_password', password);
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.waitForURL(`${customer}/`);
  await page.locator('.support-level').waitFor();
  assert.equal(await page.locator('.support-level').innerText(), 'Priority');
  assert.match(await page.locator('.support-phone').innerText(), /^\+\d/);
  assert.match(await page.locator('.support-pin').innerText(), /^\d{6}$/);
  assert.equal(await page.locator('.company').innerText(), 'ACME Industries');
  await screenshot('customer-portal-support');
  step('one-time password, forced change, the Customer Portal shows level, phone and PIN');

  // 6. The App Portal: same browser, no login form.
  const appPage = await context.newPage();
  const seen = [];
  appPage.on('framenavigated', (f) => f === appPage.mainFrame() && seen.push(f.url()));
  await appPage.goto(`${app}/`);
  await appPage.locator('.roles').waitFor();
  assert.ok(!seen.some((u) => u.startsWith(`${issuer}/login`)), `no login form: ${seen.join(' ')}`);
  assert.equal(await appPage.locator('.email').innerText(), email);
  assert.equal(await appPage.locator('.company').innerText(), 'ACME Industries');
  assert.match(await appPage.locator('.roles').innerText(), /super_admin/);
  await screenshot('app-portal-sso', appPage);
  step('the App Portal logs in through SSO and shows the same person');

  // 7. The provider's profile, linked from the portals.
  await appPage.getByRole('link', { name: 'Profile' }).first().click();
  await appPage.waitForURL(`${issuer}/profile`);
  await appPage.getByRole('heading', { name: 'Profile' }).waitFor();
  await screenshot('provider-profile', appPage);
  await appPage.goto(`${app}/`);

  // 8. Company administration: Jane (the Super Admin) invites a colleague with an
  // App Portal role; the colleague accepts in a second browser and reaches the App
  // Portal by SSO with the role; Jane removes the role (gone at the colleague's next
  // refresh) and then disables the colleague (signed out of both portals).
  await appPage.goto(`${issuer}/profile`);
  await appPage.getByRole('link', { name: 'Users' }).first().click();
  await appPage.waitForURL(`${issuer}/company/users`);
  await appPage.getByRole('heading', { name: 'Users · ACME Industries' }).waitFor();
  const colleague = 'max.mustermann@acme-industries.example';
  const inviteForm = appPage.locator('form[action="/company/invitations"]');
  await inviteForm.locator('#email').fill(colleague);
  await inviteForm.locator('#given_name').fill('Max');
  await inviteForm.locator('#family_name').fill('Mustermann');
  await inviteForm.locator('input[name="role.app-portal:apps.install"]').check();
  await inviteForm.getByRole('button', { name: 'Send invitation' }).click();
  await appPage.getByText(`Invitation sent to ${colleague}.`).waitFor();
  await screenshot('company-users', appPage);
  const invitation = await waitForMail(colleague, 1);
  const invitationLink = invitation.text.match(/https?:\/\/\S+/)[0];
  assert.ok(invitationLink.startsWith(`${issuer}/invitation?token=`), invitationLink);
  step('the Super Admin invites a colleague with a role from the Users page');

  const context2 = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 900 } });
  await context2.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === '127.0.0.1' ? route.continue() : route.abort();
  });
  const maxPage = await context2.newPage();
  lastPage = maxPage;
  await maxPage.goto(invitationLink);
  await maxPage.getByRole('heading', { name: 'Accept invitation' }).waitFor();
  assert.equal(await maxPage.locator('#given_name').inputValue(), 'Max');
  const maxPassword = 'amber lanterns over quiet harbours';
  await maxPage.fill('#new_password', maxPassword);
  await maxPage.fill('#confirm_password', maxPassword);
  await screenshot('invitation-accept', maxPage);
  await maxPage.getByRole('button', { name: 'Create account' }).click();
  await maxPage.waitForURL(`${customer}/`);
  await maxPage.locator('.company').waitFor();
  assert.equal(await maxPage.locator('.company').innerText(), 'ACME Industries');
  await maxPage.goto(`${app}/`);
  await maxPage.locator('.roles').waitFor();
  assert.equal(await maxPage.locator('.email').innerText(), colleague);
  assert.match(await maxPage.locator('.roles').innerText(), /app-portal:apps\.install/);
  await screenshot('app-portal-colleague-role', maxPage);
  step('the colleague accepts in another browser, lands signed in, and the App Portal shows the role by SSO');

  lastPage = appPage;
  await appPage.goto(`${issuer}/company/users`);
  const row = appPage.locator('tr', { hasText: colleague });
  await row.locator('summary').click();
  await row.locator('input[name="role.app-portal:apps.install"]').uncheck();
  await row.getByRole('button', { name: 'Save roles' }).click();
  await appPage.getByText(`Roles of ${colleague} saved.`).waitFor();
  lastPage = maxPage;
  await maxPage.getByRole('button', { name: 'Refresh' }).click();
  await maxPage.waitForURL(`${app}/`);
  await maxPage.locator('.roles').waitFor();
  assert.doesNotMatch(await maxPage.locator('.roles').innerText(), /apps\.install/);
  assert.equal(await maxPage.getByRole('button', { name: 'Logout' }).count(), 1, 'still signed in');
  step('the Super Admin removes the role; it is gone at the colleague\'s next refresh, without a new login');

  lastPage = appPage;
  await appPage.goto(`${issuer}/company/users`);
  await appPage.locator('tr', { hasText: colleague }).getByRole('button', { name: 'Disable' }).click();
  await appPage.locator('tr', { hasText: colleague }).getByText('Disabled').waitFor();
  lastPage = maxPage;
  for (const portal of [app, customer]) {
    let signedOut = false;
    for (let i = 0; i < 50 && !signedOut; i++) {
      await maxPage.goto(`${portal}/`);
      signedOut = (await maxPage.getByRole('button', { name: 'Login' }).count()) === 1;
      if (!signedOut) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(signedOut, `the disabled colleague is signed out of ${portal}`);
  }
  await context2.close();
  lastPage = appPage;
  await appPage.goto(`${issuer}/company/activity`);
  await appPage.getByRole('cell', { name: 'User disabled' }).first().waitFor();
  await screenshot('company-activity', appPage);
  await appPage.goto(`${app}/`);
  step('disabling the colleague signs them out of both portals; the Activity page shows it');

  // 9. Logout from the App Portal signs out of both portals and the provider.
  await appPage.getByRole('button', { name: 'Logout' }).click();
  await appPage.getByRole('button', { name: 'Login' }).waitFor();
  await screenshot('app-portal-logged-out', appPage);
  await page.goto(`${customer}/`);
  await page.getByRole('button', { name: 'Login' }).waitFor();
  assert.equal(await page.locator('.support-level').count(), 0);
  await screenshot('customer-portal-logged-out');
  // And the provider itself asks for a login again.
  await page.getByRole('button', { name: 'Login' }).click();
  await page.waitForURL(`${issuer}/login?**`);
  step('logout from the App Portal: both portals and the provider are signed out');

  await browser.close();
  smtp.close();
  console.log(`browser journey passed; screenshots in ${path.relative(ROOT, SHOTS)}`);
}

function stopAll() {
  for (const { child } of children) child.kill('SIGTERM');
}

main()
  .then(() => {
    stopAll();
    fs.rmSync(TMP, { recursive: true, force: true });
    process.exit(0);
  })
  .catch(async (err) => {
    console.error(err);
    if (lastPage) {
      try {
        await lastPage.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true });
        fs.writeFileSync(path.join(SHOTS, 'failure.html'), await lastPage.content());
        console.error(`failure page: ${lastPage.url()} (tests/out/screenshots/failure.png)`);
      } catch {
        // the browser is gone
      }
    }
    for (const { name } of children) {
      const log = path.join(TMP, `${name}.log`);
      if (fs.existsSync(log)) {
        console.error(`--- ${name} log (last lines)`);
        console.error(fs.readFileSync(log, 'utf8').split('\n').slice(-30).join('\n'));
      }
    }
    stopAll();
    process.exit(1);
  });
