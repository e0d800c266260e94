console.log('stub worker', process.env.TETHER_SESSION_ID)
