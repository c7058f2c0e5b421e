import { expect } from 'chai';
import { RedisServer } from '../../support/redis-server.ts';

describe('RedisServer harness', () => {
  it('restarts with data when AOF is on', async () => {
    const server = await RedisServer.start({ appendOnly: true });
    try {
      const client = server.client();
      await client.set('k', 'v');
      client.disconnect();
      await server.kill();
      await server.restart();
      const again = server.client();
      expect(await again.get('k')).to.equal('v');
      again.disconnect();
    } finally {
      await server.stop();
    }
  });
});
