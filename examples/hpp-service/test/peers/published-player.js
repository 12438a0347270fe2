'use strict';
/**
 * A hot-potato player built on the published hydra-express@1.9.5, modelled on the
 * article's player (cjus/hpp-service's hot-potato-player.js): the same messages,
 * log lines and rules, including its habits (it passes on the potato object it
 * received, announces without any game id, and ends its game on any "gameover").
 * Only the timing comes from the environment, so tests run in seconds:
 *   HYDRA_REDIS_URL, HPP_COUNTDOWN_SECONDS (3), HPP_GAME_SECONDS (5), HPP_PASS_DELAY_MS ("1000-2000").
 * When it is ready it prints one line: PUBLISHED-PLAYER {"instanceID": ..., "port": ...}
 */
const hydraExpress = require('hydra-express');
const hydra = hydraExpress.getHydra();

const countdownSeconds = Number(process.env.HPP_COUNTDOWN_SECONDS || 3);
const gameSeconds = Number(process.env.HPP_GAME_SECONDS || 5);
const [passMinMs, passMaxMs] = (process.env.HPP_PASS_DELAY_MS || '1000-2000').split('-').map(Number);

class HotPotatoPlayer {
  init() {
    this.playerName = hydra.getInstanceID();
    this.gameLog = [];
    this.resolve = null;
    this.isStarter = false;
  }

  logMessage(line) {
    this.gameLog.push(line);
  }

  broadcast(bdy) {
    hydra.sendBroadcastMessage(hydra.createUMFMessage({ to: 'hpp-service:/', frm: 'hpp-service:/', typ: 'hotpotato', bdy }));
  }

  messageHandler(message) {
    if (message.typ !== 'hotpotato') return;
    if (message.bdy.expiration < Math.floor(Date.now() / 1000)) {
      this.broadcast({ command: 'gameover', result: `Game over, ${this.playerName} lost!` });
    } else if (message.bdy.command === 'gameover') {
      this.gameOver(message.bdy.result);
    } else if (message.bdy.command === 'received') {
      this.logMessage(message.bdy.result);
    } else {
      this.broadcast({ command: 'received', result: `[${this.playerName}]: received hot potato.` });
      this.passHotPotato(message);
    }
  }

  startGame() {
    let elapsed = 0;
    this.isStarter = true;
    return new Promise((resolve) => {
      this.resolve = resolve;
      const tick = () => {
        this.logMessage(`Game starting in: ${countdownSeconds - elapsed} seconds`);
        if (elapsed === countdownSeconds) {
          this.gameLog.push('Sending hot potato...');
          const potato = hydra.createUMFMessage({
            to: 'hpp-service:/',
            frm: 'hpp-service:/',
            typ: 'hotpotato',
            bdy: { command: 'hotpotato', expiration: Math.floor(Date.now() / 1000) + gameSeconds },
          });
          this.passHotPotato(potato);
          return;
        }
        elapsed += 1;
        setTimeout(tick, 1000);
      };
      tick();
    });
  }

  gameOver(result) {
    this.logMessage(result);
    if (this.isStarter && this.resolve) this.resolve();
  }

  /** As the article's: after a random wait, the first other live player (Hydra shuffles the list) gets the same message object. */
  passHotPotato(potato) {
    const wait = passMinMs + Math.floor(Math.random() * (passMaxMs - passMinMs + 1));
    setTimeout(() => {
      hydra.getServicePresence('hpp-service').then((instances) => {
        const next = instances.find((i) => i.instanceID !== hydra.getInstanceID());
        if (!next) {
          this.logMessage('No other players found. Try adding players first and then starting the player with the hot potato last.');
          return;
        }
        potato.to = `${next.instanceID}@hpp-service:/`;
        potato.frm = `${hydra.getInstanceID()}@hpp-service:/`;
        hydra.sendMessage(potato);
      });
    }, wait);
  }
}

const player = new HotPotatoPlayer();

const config = {
  hydra: {
    serviceName: 'hpp-service',
    serviceDescription: 'Plays hot potato game',
    serviceType: 'game',
    serviceIP: '127.0.0.1',
    servicePort: 0,
    redis: { url: process.env.HYDRA_REDIS_URL },
  },
};

hydraExpress
  .init(config, '0.0.1', () => {
    const api = hydraExpress.getExpress().Router();
    api.get('/startgame', (req, res) => {
      player.init();
      player.startGame().then(() => hydraExpress.sendResponse(200, res, { result: { gameLog: player.gameLog } }));
    });
    hydraExpress.registerRoutes({ '/v1/hpp': api });
  })
  .then((info) => {
    player.init();
    hydra.on('message', (message) => player.messageHandler(message));
    process.stdout.write(`PUBLISHED-PLAYER ${JSON.stringify({ instanceID: hydra.getInstanceID(), port: info.servicePort })}\n`);
  })
  .catch((err) => {
    console.error('published player failed to start:', err);
    process.exit(1);
  });
