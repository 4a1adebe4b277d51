require ["fileinto"];
stop;
