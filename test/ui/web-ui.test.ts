// The Temporal Web UI as an operator sees it: a real dev server with its UI, a real procedure on the
// sandbox, and Debian's headless Chromium driven by playwright-core (installed through apt when missing;
// no browser is downloaded from elsewhere).
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseStage } from '../../model/campaign';
import type { ScenarioInput } from '../../sandbox/scenario';
import {
  type CampaignInput,
  campaignProgressQuery,
  campaignWorkflowId,
  cancelCampaignUpdate,
} from '../../workflows/campaign-messages';
import type { enableKms } from '../../workflows';
import { CampaignAttribute, pauseSignal, progressQuery } from '../../workflows/messages';
import { DEPLOYMENT_NAME, promoteToCurrent } from '../../worker/versioning';
import { findOrInstallChromium } from '../helpers/chromium';
import { type KmsflowTestEnv, startKmsflowEnv } from '../helpers/kmsflow-env';
import { waitUntil } from '../helpers/wait';

// The README's screenshot is refreshed with KMSFLOW_UPDATE_SCREENSHOT=1; other runs keep theirs in .cache.
const SCREENSHOT =
  process.env.KMSFLOW_UPDATE_SCREENSHOT === '1' ? 'docs/images/web-ui.png' : '.cache/web-ui.png';

const scenario: ScenarioInput = {
  seed: 51,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-ui', location: 'eastus' }] },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: 'kv-ui', enablePurgeProtection: true, keys: [{ name: 'kms', versions: 1 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-ui' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-ui' },
  ],
  clusters: [
    {
      name: 'aks-ui',
      kubernetesVersion: '1.30',
      identity: 'id-kms',
      secrets: { count: 1200, namespaces: 6, seed: 5, maxBytes: 3000 },
    },
  ],
};

let env: KmsflowTestEnv;
let browser: Browser;

beforeAll(async () => {
  const executablePath = findOrInstallChromium();
  env = await startKmsflowEnv(scenario, { temporalUi: true });
  browser = await chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // A first run may install chromium through apt: minutes on a fresh machine.
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await env?.teardown();
});

/**
 * Lists the workflows `query` finds in the Web UI, opens run `runId`, and reads its "User Metadata" (summary,
 * details, current details: Temporal UI 2.42 renders each markdown block in a frame of its own) until `expected` shows.
 */
async function openUserMetadata(query: string, runId: string, expected: string) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(
    `${env.temporal.server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`,
  );
  const run = page.locator('table').getByText(runId);
  await run.waitFor({ timeout: 30_000 });
  await run.click();
  await page.getByText('User Metadata', { exact: true }).click();
  const text = await waitUntil(
    async () =>
      (
        await Promise.all(
          page.frames().map((f) =>
            f
              .locator('body')
              .innerText()
              .catch(() => ''),
          ),
        )
      ).join('\n'),
    (all) => all.includes(expected),
    { timeoutMs: 30_000, what: `"${expected}" in the Web UI` },
  );
  return { page, text };
}

it('the Web UI finds a running procedure by its search attributes and shows its current step and progress', async () => {
  // Slow writes down so the re-encryption is still running when the browser looks.
  env.sandbox.faults.addRule({
    service: 'kube',
    cluster: 'aks-ui',
    method: 'PUT',
    action: { kind: 'latency', ms: 15 },
  });
  const [keyId] = await env.keyVersions('kv-ui', 'kms');
  await env.withWorker(async () => {
    const handle = await env.temporal.env.client.workflow.start<typeof enableKms>('enableKms', {
      taskQueue: env.taskQueue,
      workflowId: 'kmsflow:aks-ui-demo',
      args: [
        {
          clusterId: env.clusterId('aks-ui'),
          keyId: keyId!,
          networkAccess: 'Public',
          autoApprove: 'all',
          reencrypt: {
            pageSize: 100,
            concurrency: 2,
            propagationWaitMs: 0,
            pollIntervalMs: 200,
            progressEveryPages: 1,
          },
        },
      ],
      staticSummary: 'Enable KMS on aks-ui',
      staticDetails: 'Enable KMS with a versioned key, then re-encrypt and verify every Secret.',
    });
    await waitUntil(
      () => handle.query(progressQuery),
      (p) => (p.steps.find((s) => s.id === 'reencrypt')?.progress?.done ?? 0) >= 200,
      {
        timeoutMs: 60_000,
        what: 're-encryption progress',
      },
    );
    await handle.signal(pauseSignal, { requestedBy: 'ui-test' });

    const { page, text } = await openUserMetadata(
      "KmsCluster = 'aks-ui' AND KmsProcedure = 'enable-kms'",
      handle.firstExecutionRunId,
      'Step 4 of 4',
    );
    expect(text).toContain('enable-kms');
    expect(text).toMatch(
      /Step 4 of 4: Re-encrypt every Secret and verify \(storage migration\) \d+ \/ 24\d\d Secret checks/,
    );
    expect(text).toContain('Enable KMS on aks-ui');
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    await handle.signal('resume', {});
    await handle.result();
  });
}, 180_000);

it('the Web UI finds a campaign by KmsCampaign and shows its stage, counts, error budget and worker version', async () => {
  const version = { deploymentName: DEPLOYMENT_NAME, buildId: 'ui-build-1' };
  await env.withWorker(
    async () => {
      const client = env.temporal.env.client;
      await promoteToCurrent(client, version);
      const input: CampaignInput = {
        campaignId: 'ui-campaign',
        procedure: 'rotate-key',
        selection: { subscriptions: [], clusterIds: [env.clusterId('aks-ui')] },
        stages: [parseStage('all approval')],
        errorBudget: { maxFailures: 1 },
      };
      const handle = await client.workflow.start('campaign', {
        taskQueue: env.taskQueue,
        workflowId: campaignWorkflowId('ui-campaign'),
        args: [input],
        typedSearchAttributes: [{ key: CampaignAttribute, value: 'ui-campaign' }],
      });
      await waitUntil(
        () => handle.query(campaignProgressQuery),
        (p) => p.phase === 'waiting-approval',
        { timeoutMs: 60_000, what: 'the campaign at its approval' },
      );

      const { page, text } = await openUserMetadata(
        "KmsCampaign = 'ui-campaign'",
        handle.firstExecutionRunId,
        'Campaign ui-campaign',
      );
      expect(text).toContain('Campaign ui-campaign (rotate-key) — waiting-approval, stage all');
      expect(text).toContain('1 clusters: pending 1');
      expect(text).toContain('error budget: 0 of 1 used');
      // Temporal's own view of Worker Versioning: the version the campaign is pinned to.
      const pageText = await waitUntil(
        () => page.locator('body').innerText(),
        (t) => t.includes(version.buildId),
        { timeoutMs: 15_000, what: 'the worker version in the Web UI' },
      );
      expect(pageText).toContain(version.buildId);
      await handle.executeUpdate(cancelCampaignUpdate, { args: [{ reason: 'seen in the Web UI' }] });
      expect((await handle.result()).phase).toBe('cancelled');
    },
    { version },
  );
}, 180_000);
